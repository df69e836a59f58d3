import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PharosError } from '../../utils/errors';
import { JOB_EXECUTORS } from './engine';
import { failedJobLines, parseSubmitArgs, submitCli, type JobRecord, type RunNx, type SlurmClient, type SubmitCliDeps } from './submit-cli';

/**
 * There is no Slurm on the machines that run the unit tests, and the unit tests run no Nx: Nx is a fake that writes a
 * graph in the shape Nx 22 writes (see task-graph.spec.ts) where --graph= says, and sbatch, scancel and the follower
 * are fakes that record their calls.
 */

const OVERLAY = '@pharos/nx-plugin:overlay';

/**
 * a:build ← b:build ← c:test, in the JSON of `nx … --graph=<file>.json`; every target's executor is the overlay's
 * (one that runs as a job) unless `executors` names another.
 */
function nxGraph(deps: Record<string, string[]>, executors: Record<string, string> = {}) {
  const task = (id: string) => {
    const [project, target] = id.split(':');
    return [id, { id, target: { project, target }, overrides: {}, outputs: [], continuous: false }];
  };
  const nodes: Record<string, { data: { targets: Record<string, { executor: string }> } }> = {};
  for (const id of Object.keys(deps)) {
    const [project, target] = id.split(':');
    nodes[project] ??= { data: { targets: {} } };
    nodes[project].data.targets[target] = { executor: executors[id] ?? OVERLAY };
  }
  return {
    graph: { nodes, dependencies: {} },
    tasks: { roots: [], tasks: Object.fromEntries(Object.keys(deps).map(task)), dependencies: deps, continuousDependencies: {} },
  };
}
const CHAIN = { 'a:build': [], 'b:build': ['a:build'], 'c:test': ['b:build'] };

describe('parseSubmitArgs', () => {
  it("takes pharos submit's options, then the nx command (with or without the word nx)", () => {
    expect(parseSubmitArgs(['--wait', '--dry-run', 'run-many', '-t', 'build', '--wait'])).toEqual({
      wait: true,
      dryRun: true,
      help: false,
      nxArgs: ['run-many', '-t', 'build', '--wait'],
    });
    expect(parseSubmitArgs(['nx', 'affected', '-t', 'test']).nxArgs).toEqual(['affected', '-t', 'test']);
    expect(parseSubmitArgs(['-h']).help).toBe(true);
  });

  it('refuses other nx commands, and none', () => {
    expect(() => parseSubmitArgs(['graph'])).toThrow('pharos submit runs nx run-many, nx affected, nx run, not nx graph');
    expect(() => parseSubmitArgs(['--wait'])).toThrow('name the Nx command whose tasks to submit');
    expect(() => parseSubmitArgs(['--follow', 'run-many'])).toThrow('unknown option --follow');
  });

  it.each([
    [['run', 'app:build', '-c', 'prod'], '-c is refused'],
    [['run-many', '-t', 'build', '--configuration=prod'], '--configuration is refused'],
    [['run-many', '-t', 'build', '--graph=g.json'], '--graph is refused'],
    [['affected', '-t', 'build', '--exclude-task-dependencies'], '--exclude-task-dependencies is refused'],
  ])('refuses what the graph file cannot carry: %j', (argv, message) => {
    expect(() => parseSubmitArgs(argv)).toThrow(message);
  });

  it('leaves what follows -- to the targets', () => {
    expect(parseSubmitArgs(['run', 'app:build', '--', '-c']).nxArgs).toEqual(['run', 'app:build', '--', '-c']);
  });
});

describe('pharos submit', () => {
  let root: string;
  let out: string;
  let err: string;
  let nxCalls: { nxCommand: string[]; args: string[]; cwd: string }[];
  let graphFile: string | undefined;
  let sbatch: ReturnType<typeof vi.fn<SlurmClient['sbatch']>>;
  let followed: Map<string, JobRecord>;
  const slurm = vi.fn<SubmitCliDeps['slurm']>();

  /** A fake nx that writes `graph` where --graph= says, or fails as nx does on a bad argument. */
  function fakeNx(graph: unknown, exitCode = 0): RunNx {
    return async (nxCommand, args, cwd) => {
      nxCalls.push({ nxCommand, args, cwd });
      const file = args.find((a) => a.startsWith('--graph='))?.slice('--graph='.length);
      if (!file) return { exitCode: 0, output: '' }; // a run of the tasks that stay here
      graphFile = file;
      if (exitCode === 0) writeFileSync(graphFile, JSON.stringify(graph));
      return { exitCode, output: exitCode ? 'NX   Cannot find project "nope"' : 'NX   JSON output created' };
    };
  }

  function run(argv: string[], graph: unknown = nxGraph(CHAIN), extra: Partial<SubmitCliDeps> = {}): Promise<number> {
    return submitCli(argv, {
      slurm,
      runNx: fakeNx(graph),
      env: {},
      cwd: join(root, 'containers'),
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      ...extra,
    });
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pharos-submit-cli-'));
    writeFileSync(join(root, 'nx.json'), '{}\n');
    mkdirSync(join(root, 'containers'));
    mkdirSync(join(root, 'node_modules/.bin'), { recursive: true });
    writeFileSync(join(root, 'node_modules/.bin/nx'), '');
    out = '';
    err = '';
    nxCalls = [];
    graphFile = undefined;
    followed = new Map();
    let next = 200;
    sbatch = vi.fn<SlurmClient['sbatch']>(async () => String(++next));
    slurm.mockReset().mockResolvedValue({ sbatch, scancel: vi.fn(async () => {}), followJobs: vi.fn(async () => followed) });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("asks the workspace's nx for the graph, submits the chain, prints each job and exits without waiting", async () => {
    expect(await run(['run-many', '-t', 'test', '--', '--watch=false'])).toBe(0);
    expect(nxCalls).toEqual([
      { nxCommand: [join(root, 'node_modules/.bin/nx')], args: ['run-many', '-t', 'test', `--graph=${graphFile}`, '--', '--watch=false'], cwd: root },
    ]);
    expect(existsSync(graphFile as string)).toBe(false);
    const logs = join(root, 'dist/slurm/logs');
    expect(out).toBe(`201  a:build  log: ${logs}/a_build.201.log\n202  b:build  log: ${logs}/b_build.202.log\n203  c:test  log: ${logs}/c_test.203.log\n`);
    expect(sbatch.mock.calls.map(([script]) => script)).toEqual(['a_build', 'b_build', 'c_test'].map((s) => join(root, 'tmp/slurm', `${s}.sh`)));
    expect(sbatch.mock.calls[2][1]).toContain('--dependency=afterok:202');
  });

  it('with --dry-run prints the chain and never loads the Slurm client', async () => {
    expect(await run(['--dry-run', 'run-many', '-t', 'test'], nxGraph({ ...CHAIN, 'd:lint': [] }))).toBe(0);
    expect(out).toBe('a:build  after: -\nb:build  after: a:build\nc:test   after: b:build\nd:lint   after: -\n');
    expect(err).toBe('pharos: dry run: 4 job(s) would be submitted, in this order:\n');
    expect(slurm).not.toHaveBeenCalled();
  });

  it('refuses to submit from inside a Slurm job, where targets run on the node', async () => {
    const e = await run(['run-many', '-t', 'test'], undefined, { env: { SLURM_JOB_ID: '77' } }).catch((x: unknown) => x as PharosError);
    expect(e).toBeInstanceOf(PharosError);
    expect((e as PharosError).message).toBe('this is Slurm job 77: pharos submit submits jobs from outside one');
    expect(nxCalls).toEqual([]);
  });

  it("shows nx's own output when it writes no graph", async () => {
    const e = (await run(['run-many', '-t', 'test', '-p', 'nope'], undefined, { runNx: fakeNx(undefined, 1) }).catch((x: unknown) => x)) as PharosError;
    expect(e.message).toBe('nx run-many -t test -p nope did not write its task graph (exit 1)');
    expect(e.details.tail).toEqual(['NX   Cannot find project "nope"']);
  });

  it('runs the tasks that cannot be jobs here first, one nx run-many per target, and chains only the rest', async () => {
    const graph = nxGraph(
      { 'base:image': [], 'base:sif': ['base:image'], 'o:overlay': ['base:sif'] },
      { 'base:image': '@pharos/nx-plugin:docker-image', 'base:sif': '@pharos/nx-plugin:sif' },
    );
    expect(await run(['run', 'o:overlay'], graph)).toBe(0);
    expect(nxCalls.slice(1).map((c) => c.args)).toEqual([
      ['run-many', '-t', 'image', '--projects=base'],
      ['run-many', '-t', 'sif', '--projects=base'],
    ]);
    expect(sbatch).toHaveBeenCalledTimes(1);
    expect(sbatch.mock.calls[0][1]).not.toContainEqual(expect.stringMatching(/^--dependency/));
    expect(err).toContain('pharos: running here first (not as jobs): image of base');
  });

  it('submits nothing when a task that runs here fails', async () => {
    const graph = nxGraph({ 'base:image': [], 'o:overlay': ['base:image'] }, { 'base:image': '@pharos/nx-plugin:docker-image' });
    const failing: RunNx = async (nxCommand, args, cwd) =>
      args.some((a) => a.startsWith('--graph=')) ? fakeNx(graph)(nxCommand, args, cwd) : { exitCode: 1, output: 'docker: boom' };
    await expect(run(['run', 'o:overlay'], graph, { runNx: failing })).rejects.toThrow(
      'nx run-many -t image --projects=base failed (exit 1); no job was submitted',
    );
    expect(sbatch).not.toHaveBeenCalled();
  });

  it('says there is nothing to submit when the command has no task', async () => {
    expect(await run(['affected', '-t', 'test'], nxGraph({}))).toBe(0);
    expect(err).toBe(`pharos: nx affected -t test has no task that runs as a Slurm job (${[...JOB_EXECUTORS].join(', ')}): nothing to submit\n`);
    expect(slurm).not.toHaveBeenCalled();
  });

  it('needs the workspace installed, to run the same nx on the nodes', async () => {
    rmSync(join(root, 'node_modules'), { recursive: true });
    const e = (await run(['run-many', '-t', 'test']).catch((x: unknown) => x)) as PharosError;
    expect(e.details.next).toBe('run npm ci in the workspace');
  });

  it('with --wait follows the jobs and exits 0 when all completed', async () => {
    for (const id of ['201', '202', '203']) followed.set(id, { id, state: 'COMPLETED', exitCode: 0 });
    expect(await run(['--wait', 'run-many', '-t', 'test'])).toBe(0);
    expect(err).toBe('pharos: all 3 job(s) completed\n');
  });

  it('with --wait names each task whose job did not complete, and what its cancellation came from', async () => {
    followed.set('201', { id: '201', state: 'COMPLETED', exitCode: 0 });
    followed.set('202', { id: '202', state: 'FAILED', exitCode: 2, nodes: 'c1' });
    followed.set('203', { id: '203', state: 'CANCELLED', exitCode: 0 });
    expect(await run(['--wait', 'run-many', '-t', 'test'])).toBe(1);
    const logs = join(root, 'dist/slurm/logs');
    expect(err).toBe(
      'pharos: 2 of 3 job(s) did not complete:\n' +
        `  b:build: FAILED (job 202, exit code 2, node c1) log: ${logs}/b_build.202.log\n` +
        `  c:test: CANCELLED (job 203, exit code 0) log: ${logs}/c_test.203.log; Slurm cancelled it: b:build did not complete\n`,
    );
  });
});

describe('failedJobLines', () => {
  it('names a job the follower has no record of, and a signal', () => {
    const order = [
      { id: 'a:b', task: { project: 'a', target: 'b' }, after: [] },
      { id: 'c:d', task: { project: 'c', target: 'd' }, after: [] },
    ];
    const jobs = [
      { taskId: 'a:b', jobId: '1', logFile: '/l/a' },
      { taskId: 'c:d', jobId: '2', logFile: '/l/c' },
    ];
    expect(failedJobLines(order, jobs, new Map([['2', { id: '2', state: 'TIMEOUT', signal: 15 }]]))).toEqual([
      'a:b: no record of the job (job 1) log: /l/a',
      'c:d: TIMEOUT (job 2, signal 15) log: /l/c',
    ]);
  });
});
