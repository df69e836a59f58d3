import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { currentOwner, orphansToReap, ownerLabels, reapedMessage, workspaceId, type ContainerOwner, type LabelledContainer } from './container-owner';
import { pidIsAlive } from '../utils/pid';

const SELF: ContainerOwner = { workspace: 'aaaaaaaaaaaa', task: 'base-tools:test', pid: 100, node: 'ws1', boot: 'boot-1', pidNamespace: 'pid:[1]' };
const DEAD = new Set([200, 300]);
const isAlive = (pid: number) => !DEAD.has(pid);

function container(name: string, owner: Partial<ContainerOwner>, drop: string[] = []): LabelledContainer {
  const labels = ownerLabels({ ...SELF, task: 'slurm:deb-trixie', pid: 200, ...owner });
  for (const key of drop) delete labels[key];
  return { id: `${name}-0123456789abcdef`, name, labels };
}

describe('which containers a dead run left behind', () => {
  it("reaps this workspace's containers on this node whose owner pid has ended", () => {
    expect(orphansToReap([container('dead', {})], SELF, isAlive)).toEqual([{ id: 'dead-0123456789abcdef', name: 'dead', task: 'slurm:deb-trixie', pid: 200 }]);
  });

  it('keeps a live owner, ourselves, another workspace and another node', () => {
    const kept = [
      container('live', { pid: 400 }),
      container('ours', { pid: SELF.pid }),
      container('other-workspace', { workspace: 'bbbbbbbbbbbb' }),
      container('other-node', { node: 'ws2' }),
    ];
    expect(orphansToReap(kept, SELF, isAlive)).toEqual([]);
  });

  it('keeps what it cannot judge: missing or garbled labels, a pid of another pid namespace', () => {
    const kept = [
      container('no-pid', {}, ['org.pharos.pid']),
      container('bad-pid', { pid: Number.NaN }),
      container('no-node', {}, ['org.pharos.node']),
      container('other-pidns', { pidNamespace: 'pid:[2]' }),
      { id: 'foreign', name: 'foreign', labels: {} },
    ];
    expect(orphansToReap(kept, SELF, isAlive)).toEqual([]);
  });

  it('reaps a container from before a reboot of this node, whatever its pid now names', () => {
    expect(orphansToReap([container('old-boot', { pid: 400, boot: 'boot-0' })], SELF, isAlive).map((o) => o.name)).toEqual(['old-boot']);
    // Without boot ids (not Linux), only the pid decides.
    expect(orphansToReap([container('no-boot', { pid: 400 }, ['org.pharos.boot'])], SELF, isAlive)).toEqual([]);
  });

  it('says which container it removed and which task left it', () => {
    expect(reapedMessage({ id: '0123456789abcdef', name: 'eager_turing', task: 'base-tools:test', pid: 4242 })).toBe(
      'pharos: removed container eager_turing (0123456789ab), left behind by base-tools:test whose run (pid 4242) has ended',
    );
  });
});

describe('the owner of this process', () => {
  it('labels the workspace by a short digest of its root, and the Nx task', () => {
    expect(workspaceId('/work/main')).toMatch(/^[0-9a-f]{12}$/);
    expect(workspaceId('/work/main/')).toBe(workspaceId('/work/main'));
    expect(workspaceId('/work/other')).not.toBe(workspaceId('/work/main'));
    const owner = currentOwner({ NX_WORKSPACE_ROOT: '/work/main', NX_TASK_TARGET_PROJECT: 'slurm', NX_TASK_TARGET_TARGET: 'deb-trixie' });
    expect(owner).toMatchObject({ workspace: workspaceId('/work/main'), task: 'slurm:deb-trixie', pid: process.pid });
    expect(ownerLabels(owner)).toMatchObject({
      'org.pharos.workspace': owner.workspace,
      'org.pharos.task': 'slurm:deb-trixie',
      'org.pharos.pid': String(process.pid),
    });
  });

  it('knows a pid has ended only when the kernel says there is no such process', () => {
    expect(pidIsAlive(process.pid)).toBe(true);
    const ended = spawnSync('true').pid as number;
    expect(pidIsAlive(ended)).toBe(false);
  });
});
