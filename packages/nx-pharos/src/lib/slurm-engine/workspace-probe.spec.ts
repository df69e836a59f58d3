import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../testing/local-slurm';
import { PharosError } from '../../utils/errors';
import { probeWorkspace } from './workspace-probe';

/** A node blind to the workspace: the token file is moved away while the script runs, as on a node without the mount. */
function hidingToken(script: string): () => void {
  const token = script.replace(/\.sh$/, '.token');
  const saved = readFileSync(token);
  rmSync(token);
  return () => writeFileSync(token, saved);
}

const dir = mkdtempSync(join(tmpdir(), 'pharos-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
const follow = { sleep: async () => undefined };

describe('probeWorkspace', () => {
  it('proves the node sees the workspace with a tiny job, removes its files and caches the verdict', async () => {
    const root = mkdtempSync(join(dir, 'ws-'));
    const cacheFile = join(root, 'cache', 'slurm-probe.json');
    const slurm = new LocalCluster();
    const verdict = await probeWorkspace({ workspaceRoot: root, partition: 'short', slurm, cacheFile, out: quiet, follow });
    expect(verdict).toMatchObject({ visible: true, node: 'c1', jobId: '101', cached: false });
    const args = slurm.submitted[0].args;
    expect(args).toEqual(expect.arrayContaining(['--partition=short', '--time=1', '--ntasks=1', '--cpus-per-task=1', '--mem=100M', `--chdir=${root}`]));
    expect(args.find((a) => a.startsWith('--output='))).toMatch(`${root}/tmp/slurm-probe/`);
    expect(existsSync(join(root, 'tmp', 'slurm-probe'))).toBe(false);
    expect(JSON.parse(readFileSync(cacheFile, 'utf8'))[`${root}|short`]).toMatchObject({ visible: true, node: 'c1', jobId: '101' });

    // Known now: no job. Another partition is another question.
    expect(await probeWorkspace({ workspaceRoot: root, partition: 'short', slurm, cacheFile, out: quiet, follow })).toMatchObject({
      cached: true,
      jobId: '101',
    });
    expect(slurm.submitted).toHaveLength(1);
    await probeWorkspace({ workspaceRoot: root, slurm, cacheFile, out: quiet, follow });
    expect(slurm.submitted).toHaveLength(2);
    expect(Object.keys(JSON.parse(readFileSync(cacheFile, 'utf8')))).toEqual([`${root}|short`, `${root}|`]);
  });

  it('names the node that cannot see the workspace and what to mount, and caches nothing', async () => {
    const root = mkdtempSync(join(dir, 'ws-'));
    const cacheFile = join(root, 'probe.json');
    const slurm = new LocalCluster({ whileRunning: hidingToken });
    let err: unknown;
    try {
      await probeWorkspace({ workspaceRoot: root, slurm, cacheFile, out: quiet, follow });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PharosError);
    const text = (err as PharosError).format();
    expect(text).toMatch(`pharos: check the workspace from a compute node: the compute node c1 cannot see ${root} (probe job 101 ended FAILED, exit 1:0)`);
    expect(text).toMatch(/pharos-probe: .*\.token is not visible on /);
    expect(text).toMatch('mount the workspace at the same path on every node (docs/slurm.md#shared-paths), or set PHAROS_ENGINE=local');
    expect(existsSync(cacheFile)).toBe(false);
    expect(readdirSync(root)).toEqual(['tmp']);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  });

  it('says so when the probe job never reached a node', async () => {
    const root = mkdtempSync(join(dir, 'ws-'));
    const slurm = new LocalCluster();
    slurm.finalJob = async (id: string) => ({ id, state: 'CANCELLED', exitCode: 0, signal: 0, nodes: '', reason: 'PartitionDown', source: 'scontrol' });
    const failure = probeWorkspace({ workspaceRoot: root, slurm, cacheFile: join(root, 'probe.json'), out: quiet, follow });
    await expect(failure).rejects.toThrow('the probe job never ran: Slurm job 101 ended CANCELLED before it ran on any node (exit 0:0, PartitionDown)');
  });

  it('probes again when the cache file is not one it wrote', async () => {
    const root = mkdtempSync(join(dir, 'ws-'));
    const cacheFile = join(root, 'probe.json');
    writeFileSync(cacheFile, 'not json');
    const slurm = new LocalCluster();
    expect(await probeWorkspace({ workspaceRoot: root, slurm, cacheFile, out: quiet, follow })).toMatchObject({ cached: false });
  });
});
