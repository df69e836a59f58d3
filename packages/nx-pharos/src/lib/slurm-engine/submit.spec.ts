import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PharosError } from '../../utils/errors';
import { batchScript, nxRunTarget, sbatchArgs, submitChain, taskFileStem, type SubmitOptions } from './submit';
import type { ChainStep } from './task-graph';

/**
 * There is no Slurm on the machines that run the unit tests: sbatch and scancel are fakes that record their calls.
 * The batch script itself runs under the real `sh`, with a stand-in for Nx that prints what it was given.
 */

const step = (id: string, after: string[] = [], configuration?: string): ChainStep => {
  const [project, target] = id.split(':') as [string, string];
  return { id, after, task: { project, target, ...(configuration ? { configuration } : {}) } };
};

/** a ← b, a ← c, (b, c) ← d: a diamond, in chainOrder's order. */
const DIAMOND = [step('a:build'), step('b:build', ['a:build']), step('c:build', ['a:build']), step('d:test', ['b:build', 'c:build'])];

describe('the batch script of a task', () => {
  let dir: string;
  beforeEach(() => {
    // A workspace path a shell would split or unquote, to prove every word is quoted.
    dir = mkdtempSync(join(tmpdir(), "pharos submit 'ws' "));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the one task with nx in the workspace, without the Nx daemon', async () => {
    const script = join(dir, 'job.sh');
    const printArgs = 'printf "%s|%s|%s\\n" "$PWD" "$NX_DAEMON" "$*"';
    writeFileSync(script, batchScript('app:build:prod', step('app:build', [], 'prod').task, { workspaceRoot: dir, nxCommand: ['sh', '-c', printArgs, 'nx'] }));
    const r = await execa('sh', [script], { cwd: tmpdir(), env: { NX_DAEMON: 'true' } });
    expect(r.stdout).toBe(`${dir}|false|run app:build:prod --exclude-task-dependencies`);
  });

  it("exports this side's store to the job, where the workspace's product links lead", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-submit-store-'));
    const script = join(dir, 'job.sh');
    writeFileSync(
      script,
      batchScript('a:b', step('a:b').task, { workspaceRoot: dir, nxCommand: ['sh', '-c', 'echo "$PHAROS_STORE"'], storeEnv: { PHAROS_STORE: "/shared/it's" } }),
    );
    expect((await execa('sh', [script], { env: { PHAROS_STORE: '/elsewhere' } })).stdout).toBe("/shared/it's");
    expect(batchScript('a:b', step('a:b').task, { workspaceRoot: dir, nxCommand: ['nx'] })).not.toContain('PHAROS_STORE');
    rmSync(dir, { recursive: true, force: true });
  });

  it('names its task in a comment that a task id cannot break', () => {
    const text = batchScript('we\nird:x', step('a:b').task, { workspaceRoot: '/ws', nxCommand: ['nx'] });
    expect(text.split('\n')[1]).toBe('# pharos submit: Nx task "we\\nird:x", one job of a chain.');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
  });
});

describe('names', () => {
  it('gives nx run project:target, and :configuration when the task has one', () => {
    expect(nxRunTarget({ project: '@pharos/nx-plugin', target: 'build' })).toBe('@pharos/nx-plugin:build');
    expect(nxRunTarget({ project: 'app', target: 'build', configuration: 'prod' })).toBe('app:build:prod');
  });

  it('makes file names of task ids without slashes or percent signs', () => {
    expect(taskFileStem('@pharos/nx-plugin:build')).toBe('@pharos_nx-plugin_build');
    expect(taskFileStem('samtools-1.16.1:overlay')).toBe('samtools-1.16.1_overlay');
    expect(taskFileStem('a%j:b')).toBe('a_j_b');
  });
});

describe('sbatchArgs', () => {
  const opts = { workspaceRoot: '/ws', logsDir: '/ws/dist/slurm/logs' };

  it('chains a task after the jobs of its dependencies, and Slurm cancels it if one of them fails', () => {
    const args = sbatchArgs(
      step('d:test', ['b:build', 'c:build']),
      new Map([
        ['b:build', '12'],
        ['c:build', '13'],
      ]),
      { ...opts, argsFor: (id) => [`--comment=${id}`, '--time=5'] },
    );
    expect(args).toEqual([
      '--comment=d:test',
      '--time=5',
      '--job-name=pharos:d:test',
      '--output=/ws/dist/slurm/logs/d_test.%j.log',
      '--chdir=/ws',
      '--dependency=afterok:12:13',
      '--kill-on-invalid-dep=yes',
    ]);
  });

  it('gives a task without dependencies no --dependency', () => {
    expect(sbatchArgs(step('a:build'), new Map(), opts).filter((a) => a.includes('dep'))).toEqual([]);
  });

  it("keeps a % of the log directory from Slurm's patterns, and refuses a backslash, which turns them all off", () => {
    expect(sbatchArgs(step('a:b'), new Map(), { ...opts, logsDir: '/w%s/logs' })).toContain('--output=/w%%s/logs/a_b.%j.log');
    expect(() => sbatchArgs(step('a:b'), new Map(), { ...opts, logsDir: '/w\\s/logs' })).toThrow(/backslash/);
  });

  it('refuses an order that puts a task before its dependency', () => {
    expect(() => sbatchArgs(step('b:build', ['a:build']), new Map(), opts)).toThrow('b:build comes before its dependency a:build');
  });
});

describe('submitChain', () => {
  let root: string;
  let calls: { script: string; args: string[]; text: string }[];
  let scancel: ReturnType<typeof vi.fn<SubmitOptions['scancel']>>;

  function options(failAt?: string): SubmitOptions {
    return {
      workspaceRoot: root,
      nxCommand: [join(root, 'node_modules/.bin/nx')],
      scriptsDir: join(root, 'tmp/slurm'),
      logsDir: join(root, 'dist/slurm/logs'),
      scancel,
      async sbatch(script, args) {
        if (args.includes(`--job-name=pharos:${failAt}`)) throw new PharosError('sbatch: error: invalid partition specified: gpu', { next: 'see sinfo' });
        calls.push({ script, args, text: readFileSync(script, 'utf8') });
        return String(100 + calls.length);
      },
    };
  }

  /** The error of submitting DIAMOND when sbatch refuses the job of `failAt`. */
  function failedChain(failAt: string): Promise<PharosError> {
    return submitChain(DIAMOND, options(failAt)).then(
      () => expect.unreachable(),
      (e: unknown) => e as PharosError,
    );
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pharos-submit-'));
    calls = [];
    scancel = vi.fn<SubmitOptions['scancel']>(async () => {});
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('submits every task in order, each after the jobs of its dependencies', async () => {
    const jobs = await submitChain(DIAMOND, options());
    expect(jobs).toEqual([
      { taskId: 'a:build', jobId: '101', logFile: join(root, 'dist/slurm/logs/a_build.101.log') },
      { taskId: 'b:build', jobId: '102', logFile: join(root, 'dist/slurm/logs/b_build.102.log') },
      { taskId: 'c:build', jobId: '103', logFile: join(root, 'dist/slurm/logs/c_build.103.log') },
      { taskId: 'd:test', jobId: '104', logFile: join(root, 'dist/slurm/logs/d_test.104.log') },
    ]);
    expect(calls.map((c) => c.args.find((a) => a.startsWith('--dependency=')))).toEqual([
      undefined,
      '--dependency=afterok:101',
      '--dependency=afterok:101',
      '--dependency=afterok:102:103',
    ]);
    expect(calls[3].text).toContain(`exec '${root}/node_modules/.bin/nx' 'run' 'd:test' '--exclude-task-dependencies'`);
    expect(calls[0].args).toContain(`--chdir=${root}`);
    expect(scancel).not.toHaveBeenCalled();
  });

  it('creates the log directory before any job could open its log, and leaves no script behind once Slurm has it', async () => {
    await submitChain(DIAMOND, options());
    expect(statSync(join(root, 'dist/slurm/logs')).isDirectory()).toBe(true);
    expect(readdirSync(join(root, 'tmp/slurm'))).toEqual([]);
  });

  it('cancels the jobs already submitted when a submission fails, and says which task failed', async () => {
    const err = await failedChain('c:build');
    expect(scancel).toHaveBeenCalledExactlyOnceWith(['101', '102']);
    expect(err).toBeInstanceOf(PharosError);
    expect(err.message).toBe(
      'submitting c:build failed: sbatch: error: invalid partition specified: gpu; the 2 job(s) submitted before it were cancelled (101 102)',
    );
    expect(err.details).toMatchObject({ step: 'submit the chain', next: 'see sinfo' });
  });

  it('cancels nothing when the first submission fails', async () => {
    const err = await failedChain('a:build');
    expect(scancel).not.toHaveBeenCalled();
    expect(err.message).toContain('submitting a:build failed: sbatch: error: invalid partition specified: gpu; nothing had been submitted before it');
  });

  it('says how to cancel the earlier jobs by hand when scancel fails too', async () => {
    scancel.mockRejectedValueOnce(new Error('scancel: the controller does not answer'));
    const err = await failedChain('d:test');
    expect(err.message).toContain('cancelling the 3 job(s) submitted before it failed too (scancel: the controller does not answer): scancel 101 102 103');
  });
});
