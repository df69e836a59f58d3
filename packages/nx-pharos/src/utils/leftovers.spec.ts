import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeTag, OWNER_ENV, ownedName, processOwner, reapLeftovers, treeOwner, workspaceId } from './leftovers';
import { pidIsAlive } from './pid';

describe('what killed runs leave behind', () => {
  const root = mkdtempSync(join(tmpdir(), 'pharos-leftovers-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("names a tree after its owner, and reads back only this node's owners", () => {
    const name = ownedName('hpc-compute');
    expect(name).toMatch(new RegExp(`^hpc-compute-p${process.pid}@${nodeTag()}-[0-9a-f]{6}$`));
    expect(treeOwner(name)).toBe(process.pid);
    expect(treeOwner(`.image.tar.tmp-p42@${nodeTag()}-a1b2c3`)).toBe(42);
    expect(treeOwner(`x-p42@${nodeTag('another-node')}-a1b2c3`)).toBeUndefined();
    expect(treeOwner('hpc-compute-3f2a9c1d')).toBeUndefined();
    const ws = workspaceId(root);
    expect(processOwner(`PATH=/bin\0${OWNER_ENV}=${ws}:${nodeTag()}:77\0`, ws)).toBe(77);
    expect(processOwner(`${OWNER_ENV}=${workspaceId('/other')}:${nodeTag()}:77\0`, ws)).toBeUndefined();
    expect(processOwner('PATH=/bin\0', ws)).toBeUndefined();
  });

  it('kills the processes and removes the trees whose owner has ended; keeps live owners, other nodes and other workspaces', async () => {
    const ended = execa('true');
    await ended;
    const dead = ended.pid as number;
    const tag = nodeTag();
    const tree = (path: string) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), 'x');
      return join(root, path);
    };
    const deadScratch = join(root, `tmp/packer/hpc-compute-p${dead}@${tag}-a1b2c3`);
    mkdirSync(join(deadScratch, 'out'), { recursive: true });
    const deadTemp = tree(`dist/containers/x/.image.tar.tmp-p${dead}@${tag}-a1b2c3`);
    const liveTemp = tree(`dist/containers/x/.image.tar.tmp-p${process.ppid}@${tag}-a1b2c3`);
    const otherNode = tree(`tmp/packer/y-p${dead}@${nodeTag('another-node')}-a1b2c3`);
    const product = tree('dist/containers/x/image.tar');
    const holder = (pid: number) => JSON.stringify({ type: 'nx-task x:image', pid, node: hostname(), job_id: null, created_at: '2026-01-01T00:00:00.000Z' });
    const deadLock = tree('dist/containers/x/image.tar.lock');
    writeFileSync(deadLock, holder(dead));
    const liveLock = tree('dist/containers/z/image.tar.lock');
    writeFileSync(liveLock, holder(process.ppid));
    // Stand-ins for a Packer and a QEMU that a killed run left running: real processes, with the owner mark.
    const start = (owner: string) =>
      execa('sleep', ['60'], { detached: true, reject: false, env: { [OWNER_ENV]: owner }, extendEnv: true, cleanup: true, stdin: 'ignore' });
    const orphan = start(`${workspaceId(root)}:${tag}:${dead}`);
    const owned = start(`${workspaceId(root)}:${tag}:${process.ppid}`);
    const foreign = start(`${workspaceId('/another/workspace')}:${tag}:${dead}`);
    try {
      await new Promise((r) => setTimeout(r, 100));
      const messages = reapLeftovers(root);
      expect(messages).toContain(`pharos: removed process ${orphan.pid} (sleep 60), left behind by a run (pid ${dead}) that has ended`);
      expect(messages).toContain(`pharos: removed tmp/packer/hpc-compute-p${dead}@${tag}-a1b2c3, left behind by a run (pid ${dead}) that has ended`);
      expect(messages).toContain(`pharos: removed dist/containers/x/.image.tar.tmp-p${dead}@${tag}-a1b2c3, left behind by a run (pid ${dead}) that has ended`);
      expect(messages.filter((m) => m.includes('sleep'))).toHaveLength(1); // not the live owner's, not the other workspace's
      expect(messages).toContain(
        `pharos: removed the lock dist/containers/x/image.tar.lock of nx-task x:image (pid ${dead} on ${hostname()}, since 2026-01-01T00:00:00.000Z), which has ended`,
      );
      expect([existsSync(deadLock), existsSync(liveLock)]).toEqual([false, true]);
      expect((await orphan).signal).toBe('SIGKILL');
      expect([existsSync(deadScratch), existsSync(deadTemp)]).toEqual([false, false]);
      expect([existsSync(liveTemp), existsSync(otherNode), existsSync(product)]).toEqual([true, true, true]);
      expect([pidIsAlive(owned.pid as number), pidIsAlive(foreign.pid as number)]).toEqual([true, true]);
    } finally {
      for (const p of [orphan, owned, foreign]) p.kill('SIGKILL');
      await Promise.all([orphan, owned, foreign]);
    }
  });
});
