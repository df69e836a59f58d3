import type { ExecutorContext } from '@nx/devkit';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalCluster } from '../../testing/local-slurm';
import { jobContext, probeCacheFile, runAsJob, runJob, runTimeSeconds, TASK_ENTRY, type JobRequest, type TaskRequest } from './run-as-job';

/**
 * There is no Slurm on the machines the unit specs run on: testing/local-slurm.ts stands in for the cluster (its
 * "node" runs the batch script with the real sh), and a stub stands in for the node's Node.js, printing what it was
 * asked to run and the request it was given, and ending as STUB_EXIT says.
 */

const dir = mkdtempSync(join(tmpdir(), 'pharos-run-as-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stubNode = join(dir, 'node');
writeFileSync(
  stubNode,
  '#!/bin/sh\necho "node-stub: $*"\necho "request: $(cat "$2")"\necho "store: ${PHAROS_STORE:-} ${PHAROS_STORE_THRESHOLD:-}"\necho "team store: ${PHAROS_REGISTRY:-} ${PHAROS_REGISTRY_PUSH:-}"\nexit "${STUB_EXIT:-0}"\n',
);
chmodSync(stubNode, 0o755);

const PROJECT = 'samtools-1.21';

function contextAt(root: string, pluginOptions?: object): ExecutorContext {
  return {
    root,
    cwd: root,
    isVerbose: false,
    projectName: PROJECT,
    targetName: 'overlay',
    target: { executor: '@pharos/nx-plugin:overlay', options: { script: 'containers/overlays/samtools/1.21.sh' } },
    projectsConfigurations: { version: 2, projects: { [PROJECT]: { root: 'containers/overlays/samtools/1.21.sh' } } },
    nxJsonConfiguration: { plugins: pluginOptions ? [{ plugin: '@pharos/nx-plugin', options: pluginOptions }] : ['@pharos/nx-plugin'] },
    projectGraph: {
      nodes: { [PROJECT]: { name: PROJECT, type: 'app', data: { root: 'containers/overlays/samtools/1.21.sh' } } },
      dependencies: { [PROJECT]: [] },
      externalNodes: { 'npm:yaml': { name: 'npm:yaml', type: 'npm', data: { version: '2.0.0', packageName: 'yaml' } } },
    },
    taskGraph: { roots: [], tasks: {}, dependencies: {}, continuousDependencies: {} },
  };
}

describe('runJob', () => {
  let root: string;
  let out: string;
  const sink = { write: (t: string) => ((out += t), true) } as unknown as NodeJS.WritableStream;

  function request(slurm: LocalCluster, extra: Partial<JobRequest> = {}): JobRequest {
    return {
      executor: 'overlay',
      options: { script: 'containers/overlays/samtools/1.21.sh', engine: 'slurm' },
      context: contextAt(root),
      resources: { cpusPerTask: 4, memoryMiB: 8192, timeMinutes: 30 },
      why: 'PHAROS_ENGINE=slurm',
      slurm,
      out: sink,
      env: { PHAROS_SLURM_NODE_BIN: stubNode },
      follow: { sleep: async () => undefined },
      ...extra,
    };
  }

  /** The request the stub node printed while the job ran (the file is gone by now). */
  const requestSeen = (): TaskRequest => JSON.parse(/^request: (.*)$/m.exec(out)![1]) as TaskRequest;

  beforeEach(() => {
    root = mkdtempSync(join(dir, 'ws-'));
    out = '';
  });

  it('probes once, submits one job that runs the executor through pharos-task, streams its log, times it, and leaves nothing behind', async () => {
    const slurm = new LocalCluster({ runTime: '00:00:00' });
    await runJob(request(slurm));
    expect(slurm.submitted).toHaveLength(2); // the probe, then the job
    const job = slurm.submitted[1];
    const logs = join(root, 'dist/slurm/logs');
    expect(job.args).toEqual([
      `--job-name=pharos:${PROJECT}:overlay`,
      `--output=${logs}/${PROJECT}_overlay.%j.log`,
      `--chdir=${root}`,
      '--cpus-per-task=4',
      '--mem=8192M',
      '--time=30',
    ]);
    expect(job.log).toBe(`${logs}/${PROJECT}_overlay.102.log`);
    expect(out).toContain(`pharos: ${PROJECT}:overlay submitted as Slurm job 102 (PHAROS_ENGINE=slurm); log: ${job.log}\n`);
    expect(out).toContain(`pharos-phase: ${PROJECT}:overlay\n`);
    const requestFile = /^node-stub: (\S+) (\S+)$/m.exec(out)!;
    expect(requestFile[1]).toBe(TASK_ENTRY);
    expect(existsSync(TASK_ENTRY)).toBe(true);
    expect(requestFile[2]).toMatch(new RegExp(`^${root}/tmp/slurm/${PROJECT}_overlay-[0-9a-f]{8}\\.json$`));
    expect(requestSeen()).toEqual({
      executor: 'overlay',
      options: { script: 'containers/overlays/samtools/1.21.sh', engine: 'slurm' },
      context: JSON.parse(JSON.stringify(jobContext(contextAt(root)))),
    });
    expect(out).toMatch(/^pharos: job 102 ran 0\.\d\d s; engine overhead \d+\.\d\d s$/m);
    expect(readdirSync(join(root, 'tmp/slurm'))).toEqual([]);
    expect(JSON.parse(readFileSync(probeCacheFile(root, {}), 'utf8'))[`${root}|`]).toMatchObject({ visible: true, jobId: '101' });

    // The verdict is cached: the next target submits its job alone.
    await runJob(request(slurm));
    expect(slurm.submitted.map((s) => s.id)).toEqual(['101', '102', '103']);
  });

  it("gives the job this side's store, where the workspace's product links lead", async () => {
    await runJob(request(new LocalCluster(), { env: { PHAROS_SLURM_NODE_BIN: stubNode, PHAROS_STORE: '/shared/pharos-store' } }));
    expect(out).toContain('store: /shared/pharos-store \n');
    // And the threshold, where one is set: a site's sbatch may not pass the environment on.
    out = '';
    await runJob(
      request(new LocalCluster(), { env: { PHAROS_SLURM_NODE_BIN: stubNode, PHAROS_STORE: '/shared/pharos-store', PHAROS_STORE_THRESHOLD: '64M' } }),
    );
    expect(out).toContain('store: /shared/pharos-store 64M\n');
    // And the team store, so a CI job publishes from the node as it would here.
    out = '';
    await runJob(
      request(new LocalCluster(), {
        env: { PHAROS_SLURM_NODE_BIN: stubNode, PHAROS_STORE: '/s', PHAROS_REGISTRY: '127.0.0.1:7422', PHAROS_REGISTRY_PUSH: '1' },
      }),
    );
    expect(out).toContain('team store: 127.0.0.1:7422 1\n');
  });

  it('takes the partition from the target, else the script, else the plugin option, and probes that partition', async () => {
    const slurm = new LocalCluster();
    const other = [
      { flag: '--partition', value: 'long', line: 3 },
      { flag: '--account', value: 'lab', line: 4 },
    ];
    const context = contextAt(root, { partition: 'ws' });
    await runJob(request(slurm, { context, other, partition: 'short' }));
    await runJob(request(slurm, { context, other }));
    await runJob(request(slurm, { context }));
    const partitions = slurm.submitted.map((s) => s.args.find((a) => a.startsWith('--partition=')));
    expect(partitions).toEqual(['--partition=short', '--partition=short', '--partition=long', '--partition=long', '--partition=ws', '--partition=ws']);
    expect(slurm.submitted[3].args).toContain('--account=lab');
  });

  it('fails with the state, job, node and log of a job that did not complete, and still removes its files', async () => {
    const slurm = new LocalCluster({ env: { STUB_EXIT: '3' } });
    const failure = runJob(request(slurm));
    const log = join(root, `dist/slurm/logs/${PROJECT}_overlay.102.log`);
    await expect(failure).rejects.toThrow(`Slurm job 102 ended FAILED on node c1 (exit 3:0); log: ${log}`);
    expect(readdirSync(join(root, 'tmp/slurm'))).toEqual([]);
  });

  it('refuses a script flag that would break following the job, before submitting it', async () => {
    const slurm = new LocalCluster();
    const failure = runJob(request(slurm, { other: [{ flag: '--array', value: '1-4', line: 5 }], file: 'containers/overlays/samtools/1.21.sh' }));
    await expect(failure).rejects.toThrow('#SBATCH --array 1-4 cannot be used');
    expect(slurm.submitted).toHaveLength(1); // the probe alone
    expect(readdirSync(join(root, 'tmp/slurm'))).toEqual([]);
  });
});

describe('runAsJob', () => {
  let stderr: string;
  beforeEach(() => {
    stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => ((stderr += String(t)), true));
  });
  afterEach(() => vi.restoreAllMocks());

  it("reports a failed job as an executor's failure: one message, success false", async () => {
    const root = mkdtempSync(join(dir, 'ws-'));
    const slurm = new LocalCluster({ env: { STUB_EXIT: '1' } });
    const result = await runAsJob({
      executor: 'def-sif',
      options: {},
      context: contextAt(root),
      resources: {},
      slurm,
      out: { write: () => true } as unknown as NodeJS.WritableStream,
      env: { PHAROS_SLURM_NODE_BIN: stubNode },
      follow: { sleep: async () => undefined },
    });
    expect(result).toEqual({ success: false });
    expect(stderr).toContain('Slurm job 102 ended FAILED on node c1 (exit 1:0)');
  });
});

describe('what the job is given', () => {
  it('keeps the context fields executors read, drops the npm nodes of the graph and the task graph', () => {
    const ctx = jobContext(contextAt('/ws'));
    expect(Object.keys(ctx).sort()).toEqual(
      [
        'configurationName',
        'cwd',
        'isVerbose',
        'nxJsonConfiguration',
        'projectGraph',
        'projectName',
        'projectsConfigurations',
        'root',
        'target',
        'targetName',
      ].sort(),
    );
    expect(ctx.projectGraph).toEqual({ nodes: contextAt('/ws').projectGraph.nodes, dependencies: { [PROJECT]: [] } });
  });

  it("reads scontrol's RunTime", () => {
    expect(runTimeSeconds('00:00:07')).toBe(7);
    expect(runTimeSeconds('01:02:03')).toBe(3723);
    expect(runTimeSeconds('2-00:00:01')).toBe(172801);
    expect(runTimeSeconds('Unknown')).toBeUndefined();
    expect(runTimeSeconds(undefined)).toBeUndefined();
  });

  it("keeps the probe's verdicts in Nx's workspace data folder", () => {
    expect(probeCacheFile('/ws', {})).toBe('/ws/.nx/workspace-data/pharos-slurm-probe.json');
    expect(probeCacheFile('/ws', { NX_WORKSPACE_DATA_DIRECTORY: 'cache/nx' })).toBe('/ws/cache/nx/pharos-slurm-probe.json');
    expect(probeCacheFile('/ws', { NX_WORKSPACE_DATA_DIRECTORY: '/scratch/nx' })).toBe('/scratch/nx/pharos-slurm-probe.json');
  });
});
