import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OverlayManifest } from '../src/products/overlay';
import { copyWorkspace, filesIn, interruptNx, nx, removeDir, sha256sum, WORKSPACE } from './harness';
import { startSlurmCluster, type SlurmCluster } from './slurm-cluster';

/**
 * The Slurm engine end to end: overlay targets run as jobs on a real one-node cluster (slurmctld and slurmd in a
 * container of the dev container's image, e2e/slurm-cluster.ts), through the real Nx, sbatch, squeue, scontrol,
 * scancel and Apptainer. The workspace copy is bound into the node at its own path, as a shared filesystem would be;
 * a second copy that is not bound plays a workspace the nodes cannot see.
 */
const overlay = (name: string, body: string, header = '') => `#!/usr/bin/bash
#WHATIS:slurm engine test overlay ${name}
#SBATCH --cpus-per-task=1
${header}
install() {
${body}
}
`;

describe('the Slurm engine on a real cluster', () => {
  let ws: string;
  let hidden: string;
  let cluster: SlurmCluster;
  const write = (root: string, name: string, text: string) => {
    const file = join(root, 'containers/overlays', name, '1.0.sh');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  const slurmEnv = () => ({ ...cluster.env(), PHAROS_ENGINE: 'slurm' });
  const product = (name: string) => join(ws, 'dist/containers/overlays', name);
  const queue = async () => (await cluster.run(['squeue', '-h', '-o', '%i %j %T'])).stdout.trim();
  const jobsEver = async () => (await cluster.run(['squeue', '-h', '-t', 'all', '-o', '%i'])).stdout.split('\n').filter(Boolean).sort();
  const jobId = (output: string) => /submitted as Slurm job (\d+)/.exec(output)?.[1];

  beforeAll(async () => {
    ws = copyWorkspace();
    hidden = copyWorkspace();
    write(
      ws,
      'engine-ok',
      overlay(
        'ok',
        '    mkdir -p "$target_dir/bin"\n    printf "#!/bin/sh\\necho engine-ok\\n" > "$target_dir/bin/engine-ok"\n    chmod +x "$target_dir/bin/engine-ok"',
      ),
    );
    write(ws, 'engine-fails', overlay('fails', '    echo "about to fail" >&2\n    exit 3'));
    write(ws, 'engine-slow', overlay('slow', '    sleep 600', '#SBATCH --time=1'));
    // Over the short partition's MaxTime=1: Slurm queues it (EnforcePartLimits is off) with reason PartitionTimeLimit.
    write(ws, 'engine-too-long', overlay('too-long', '    mkdir -p "$target_dir/x"', '#SBATCH --partition=short\n#SBATCH --time=5'));
    write(ws, 'engine-after', overlay('after', '    mkdir -p "$target_dir/x"', '#DEP:engine-fails/1.0'));
    write(hidden, 'engine-ok', overlay('ok', '    mkdir -p "$target_dir/x"'));
    // What the jobs mount: the base SIF, and the dev container's SIF for the tools the executors run in it.
    const deps = await nx(['run-many', '-t', 'sif', '--projects=overlay-build-base,dev-container'], ws);
    expect(deps.exitCode, deps.output.slice(-3000)).toBe(0);
    // The node runs the executors from the copy, whose node_modules link into the real workspace's.
    // (From a git worktree, the packages are links into the main checkout's node_modules.)
    const modules = dirname(realpathSync(join(WORKSPACE, 'node_modules/@swc-node')));
    cluster = await startSlurmCluster(ws, [...new Set([ws, WORKSPACE, modules])]);
  }, 30 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
    removeDir(ws);
    removeDir(hidden);
  });

  it('builds an overlay as a Slurm job, with its product in dist/ and a cache hit afterwards', async () => {
    const r = await nx(['run', 'engine-ok-1.0:overlay', '--exclude-task-dependencies'], ws, slurmEnv());
    expect(r.exitCode, r.output.slice(-3000)).toBe(0);
    const id = jobId(r.output);
    expect(id, r.output).toBeDefined();
    const jobs = await jobsEver();
    // The job's own log, streamed through Nx: install() ran on the node.
    expect(r.output).toContain('pharos: building engine-ok/1.0');
    const state = await cluster.run(['scontrol', 'show', 'job', '-o', id as string]);
    expect(state.stdout).toMatch(/JobState=COMPLETED .*ExitCode=0:0/);
    const m = JSON.parse(readFileSync(join(product('engine-ok'), '1.0.sqf.json'), 'utf8')) as OverlayManifest;
    expect(await sha256sum(join(product('engine-ok'), m.sqf))).toBe(m.sha256);
    const again = await nx(['run', 'engine-ok-1.0:overlay', '--exclude-task-dependencies'], ws, slurmEnv());
    expect(again.exitCode).toBe(0);
    expect(again.tasks.get('engine-ok-1.0:overlay')).toBe('cache');
    // Nx replays the first run's output; no job was submitted for the hit.
    expect(await jobsEver()).toEqual(jobs);
  });

  it('fails with the job state, its exit code and the log path when install() fails', async () => {
    const r = await nx(['run', 'engine-fails-1.0:overlay', '--exclude-task-dependencies'], ws, slurmEnv());
    expect(r.exitCode).not.toBe(0);
    const id = jobId(r.output) as string;
    expect(r.output).toMatch(new RegExp(`Slurm job ${id} ended FAILED on node ${cluster.node}`));
    expect(r.output).toMatch(/exit 1:0|exit code 1/);
    expect(r.output).toMatch(/dist\/slurm\/logs\/\S+\.log/);
    expect(r.output).toContain('about to fail');
    expect(filesIn(product('engine-fails'))).toEqual([]);
  });

  it(
    'names TIMEOUT when a job runs past its time limit',
    async () => {
      const r = await nx(['run', 'engine-slow-1.0:overlay', '--exclude-task-dependencies'], ws, slurmEnv());
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(/Slurm job \d+ ended TIMEOUT/);
      expect(filesIn(product('engine-slow'))).toEqual([]);
      expect(filesIn(join(ws, 'tmp/overlay'))).toEqual([]);
    },
    5 * 60_000,
  );

  it("fails at once, and cancels the job, when it can never start (a time limit over the partition's)", async () => {
    const r = await nx(['run', 'engine-too-long-1.0:overlay', '--exclude-task-dependencies'], ws, slurmEnv());
    expect(r.exitCode).not.toBe(0);
    const id = jobId(r.output) as string;
    expect(r.output).toContain(`Slurm job ${id} can never start as submitted: pending with reason PartitionTimeLimit`);
    expect(r.output).toContain('scontrol show partition');
    expect(await queue()).toBe('');
    expect(filesIn(product('engine-too-long'))).toEqual([]);
  });

  it('chains a graph with afterok, and Slurm cancels the job whose dependency failed', async () => {
    const r = await execa(join(ws, 'tools/pharos'), ['submit', '--wait', 'run', 'engine-after-1.0:overlay', '--exclude=dev-container,overlay-build-base'], {
      cwd: ws,
      env: cluster.env(),
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).not.toBe(0);
    expect(r.all).toMatch(/engine-fails-1\.0:overlay.*FAILED/);
    expect(r.all).toMatch(/engine-after-1\.0:overlay.*CANCELLED/);
    expect(filesIn(product('engine-after'))).toEqual([]);
    // Cancelled by Slurm before it started: it never opened its log.
    expect(filesIn(join(ws, 'dist/slurm/logs')).filter((f) => f.startsWith('engine-after'))).toEqual([]);
  });

  it('cancels the job on Ctrl-C: nothing is left in the queue, in dist/ or in tmp/', async () => {
    const r = await interruptNx(['run', 'engine-slow-1.0:overlay', '--exclude-task-dependencies'], ws, /submitted as Slurm job/, slurmEnv(), 3000);
    expect(r.exitCode, r.output.slice(-3000)).toBe(130);
    expect(await queue(), r.output.slice(-3000)).toBe('');
    expect(filesIn(product('engine-slow'))).toEqual([]);
    expect(filesIn(join(ws, 'tmp/overlay'))).toEqual([]);
    expect(filesIn(join(ws, 'tmp/slurm'))).toEqual([]);
  });

  it('refuses clearly, before any real job, when the node cannot see the workspace', async () => {
    const before = (await cluster.run(['squeue', '-h', '-t', 'all', '-o', '%j'])).stdout;
    const r = await nx(['run', 'engine-ok-1.0:overlay', '--exclude-task-dependencies'], hidden, slurmEnv());
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toContain(`cannot see ${hidden}`);
    const after = (await cluster.run(['squeue', '-h', '-t', 'all', '-o', '%j'])).stdout;
    const newJobs = after.split('\n').filter((j) => j && !before.split('\n').includes(j));
    expect(newJobs.every((j) => j === 'pharos-workspace-probe')).toBe(true);
    expect(existsSync(join(hidden, 'dist/containers/overlays/engine-ok'))).toBe(false);
  });
});
