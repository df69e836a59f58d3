import type { ExecutorContext } from '@nx/devkit';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executorModule, jobEnvironment, main, readTaskRequest, type TaskInJobDeps } from './task-in-job';

const dir = mkdtempSync(join(tmpdir(), 'pharos-task-in-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const context = { root: '/ws', cwd: '/ws', isVerbose: false, projectName: 'samtools-1.21', targetName: 'overlay' } as ExecutorContext;

function requestFile(request: object): string {
  const file = join(dir, `${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(request));
  return file;
}

const REQUEST = { executor: 'overlay', options: { script: 'a.sh' }, context };

describe('pharos-task', () => {
  function run(argv: string[], env: NodeJS.ProcessEnv, result: unknown = { success: true }) {
    const calls: Array<{ file: string; options: unknown; context: unknown; env: NodeJS.ProcessEnv }> = [];
    let stderr = '';
    const deps: TaskInJobDeps = {
      env,
      stderr: { write: (t: string) => (stderr += t) },
      load: async (file) => ({
        default: async (options: unknown, ctx: unknown) => {
          calls.push({ file, options, context: ctx, env: { ...env } });
          if (result instanceof Error) throw result;
          return result;
        },
      }),
    };
    return main(argv, deps).then((code) => ({ code, calls, stderr }));
  }

  it("runs the request's executor with its options and context, in an environment of its own", async () => {
    const env = {
      SLURM_JOB_ID: '42',
      NX_FORKED_TASK_EXECUTOR: 'true',
      PHAROS_NX_RUN: 'run-1',
      NX_TASK_TARGET_PROJECT: 'other',
      NX_TASK_TARGET_CONFIGURATION: 'x',
    };
    const { code, calls } = await run([requestFile(REQUEST)], env);
    expect(code).toBe(0);
    expect(calls).toHaveLength(1);
    expect(calls[0].file).toBe(resolve(__dirname, 'executors/overlay/executor.ts'));
    expect(calls[0].options).toEqual({ script: 'a.sh' });
    expect(calls[0].context).toEqual(context);
    expect(calls[0].env).toEqual({ SLURM_JOB_ID: '42', NX_WORKSPACE_ROOT: '/ws', NX_TASK_TARGET_PROJECT: 'samtools-1.21', NX_TASK_TARGET_TARGET: 'overlay' });
  });

  it('ends the job with 1 when the executor fails or throws', async () => {
    expect((await run([requestFile(REQUEST)], { SLURM_JOB_ID: '42' }, { success: false })).code).toBe(1);
    const thrown = await run([requestFile(REQUEST)], { SLURM_JOB_ID: '42' }, new Error('boom'));
    expect(thrown.code).toBe(1);
    expect(thrown.stderr).toContain('boom');
  });

  it('refuses to run outside a Slurm job, where the executor could submit the request again', async () => {
    const { code, calls, stderr } = await run([requestFile(REQUEST)], {});
    expect(code).toBe(1);
    expect(calls).toEqual([]);
    expect(stderr).toContain('pharos-task runs a target inside the Slurm job Pharos submitted for it, and SLURM_JOB_ID is not set');
  });

  it('says how it is used when not given one request', async () => {
    const { code, stderr } = await run([], { SLURM_JOB_ID: '42' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^usage: pharos-task <request.json>/);
  });

  it('refuses an executor that is not a folder of executors/, a path above all', async () => {
    for (const name of ['../executors/overlay', 'overlay/../def-sif', '/etc/passwd', 'Overlay', 'nope', '']) {
      const { code, calls, stderr } = await run([requestFile({ ...REQUEST, executor: name })], { SLURM_JOB_ID: '42' });
      expect({ name, code, calls }).toEqual({ name, code: 1, calls: [] });
      expect(stderr).toContain(`"${name}" is not an executor of this plugin`);
    }
    expect(executorModule('def-sif')).toBe(resolve(__dirname, 'executors/def-sif/executor.ts'));
  });

  it('names a request file it cannot use', () => {
    expect(() => readTaskRequest(join(dir, 'gone.json'))).toThrow(/cannot read the task request .*gone\.json/);
    expect(() => readTaskRequest(requestFile({ executor: 'overlay', options: {} }))).toThrow(/is not a task request/);
  });

  it('keeps no Nx run of the submitting machine in the environment', () => {
    const env: NodeJS.ProcessEnv = { PHAROS_NX_RUN: 'r', NX_FORKED_TASK_EXECUTOR: 'true', PATH: '/bin' };
    jobEnvironment(env, { ...context, configurationName: 'ci' });
    expect(env).toEqual({
      PATH: '/bin',
      NX_WORKSPACE_ROOT: '/ws',
      NX_TASK_TARGET_PROJECT: 'samtools-1.21',
      NX_TASK_TARGET_TARGET: 'overlay',
      NX_TASK_TARGET_CONFIGURATION: 'ci',
    });
  });

  it('bin/pharos-task.cjs runs the TypeScript entry and refuses outside a job', async () => {
    const bin = resolve(__dirname, '../bin/pharos-task.cjs');
    const { SLURM_JOB_ID: _, ...env } = process.env;
    const r = await execa('node', [bin, requestFile(REQUEST)], { reject: false, env, extendEnv: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('SLURM_JOB_ID is not set');
  });
});
