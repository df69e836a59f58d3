import type { ExecutorContext } from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskRequest } from './lib/slurm-engine/run-as-job';
import { NX_RUN_ENV } from './utils/nx-run-locks';
import { formatError, PharosError } from './utils/errors';

/**
 * The job's side of lib/slurm-engine/run-as-job.ts (bin/pharos-task.cjs <request.json>): runs one target's executor
 * with the options and context Nx gave it on the submitting machine. SLURM_JOB_ID is set in here, so the executor does
 * its work on this node, and the product lock it takes names the job.
 */

type Executor = (options: Record<string, unknown>, context: ExecutorContext) => Promise<{ success: boolean }>;

export interface TaskInJobDeps {
  env?: NodeJS.ProcessEnv;
  /** Loads an executor's module; default a dynamic import. */
  load?: (file: string) => Promise<{ default?: unknown }>;
  executorsDir?: string;
  stderr?: { write(text: string): unknown };
}

const STEP = 'run the target in its Slurm job';
const EXECUTORS_DIR = join(__dirname, 'executors');

/** The request file as run-as-job.ts wrote it; a file that is not one is an error naming it. */
export function readTaskRequest(file: string): TaskRequest {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PharosError(`cannot read the task request ${file}: ${(err as Error).message}`, {
      step: STEP,
      next: 'the submitting side removes it when the job ends or is cancelled: run the target again with nx',
    });
  }
  const r = data as Partial<TaskRequest> | null;
  const ctx = r?.context as Partial<ExecutorContext> | undefined;
  if (typeof r?.executor !== 'string' || !r.options || typeof r.options !== 'object' || typeof ctx?.root !== 'string' || !ctx.projectName) {
    throw new PharosError(`${file} is not a task request (it lacks the executor, its options or its context)`, { step: STEP });
  }
  return r as TaskRequest;
}

/** The executor module of `name`, one of the folders under executors/: a name only, never a path. */
export function executorModule(name: string, executorsDir = EXECUTORS_DIR): string {
  const file = join(executorsDir, name, 'executor.ts');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !existsSync(file)) {
    throw new PharosError(`"${name}" is not an executor of this plugin`, {
      step: STEP,
      next: `name a folder of ${executorsDir} (the request was written by another version of the plugin? run the target again)`,
    });
  }
  return file;
}

/**
 * The environment the executor runs in. The job inherits the submitting executor's (sbatch exports it): the Nx run
 * that forked that executor is on another machine, so the job keeps its locks until its end instead of handing them
 * to it (utils/nx-run-locks.ts), and the task variables are set anew from the request, whatever the site's sbatch
 * exports, so the executor marks what it starts as this node's (utils/executor.ts).
 */
export function jobEnvironment(env: NodeJS.ProcessEnv, context: ExecutorContext): void {
  delete env.NX_FORKED_TASK_EXECUTOR;
  delete env[NX_RUN_ENV];
  env.NX_WORKSPACE_ROOT = context.root;
  env.NX_TASK_TARGET_PROJECT = context.projectName;
  if (context.targetName) env.NX_TASK_TARGET_TARGET = context.targetName;
  if (context.configurationName) env.NX_TASK_TARGET_CONFIGURATION = context.configurationName;
  else delete env.NX_TASK_TARGET_CONFIGURATION;
}

/** Runs the request's executor; the job's exit code: 0 when it succeeded, 1 when not, 2 when used wrongly. */
export async function main(argv: string[], deps: TaskInJobDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const stderr = deps.stderr ?? process.stderr;
  if (argv.length !== 1) {
    stderr.write('usage: pharos-task <request.json> (inside the Slurm job Pharos submits for a target; run targets with nx)\n');
    return 2;
  }
  try {
    const jobId = env.SLURM_JOB_ID?.trim();
    if (!jobId) {
      // Outside a job the executor would choose its engine again, and could submit this very request as a new job.
      throw new PharosError('pharos-task runs a target inside the Slurm job Pharos submitted for it, and SLURM_JOB_ID is not set', {
        step: STEP,
        next: 'run the target with nx (npx nx run <project>:<target>); with PHAROS_ENGINE=slurm it is submitted as a job',
      });
    }
    const request = readTaskRequest(argv[0]);
    const file = executorModule(request.executor, deps.executorsDir);
    const executor = (await (deps.load ?? ((f: string) => import(f)))(file)).default;
    if (typeof executor !== 'function') throw new PharosError(`${file} has no default export to run`, { step: STEP });
    jobEnvironment(env, request.context);
    const result = await (executor as Executor)(request.options, request.context);
    return result?.success ? 0 : 1;
  } catch (err) {
    stderr.write(`${formatError(err)}\n`);
    return 1;
  }
}
