import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../../utils/atomic-file';
import { interruptSignal, onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { shellQuote } from '../../utils/shell';
import type { ChainStep, GraphTask } from './task-graph';

/**
 * `pharos submit`'s chain: one Slurm job per task of the graph, each held by `--dependency=afterok:` until the jobs of
 * its dependencies completed, so Slurm runs the graph with no process of ours waiting. Each job runs its one task with
 * `nx run … --exclude-task-dependencies` in the shared workspace: its dependencies' jobs have put their products there
 * and in the shared Nx cache, so Nx restores or finds them instead of running them again.
 */

/** `sbatch` of a batch script with these options; resolves to the job id (the other end is tools/slurm.ts). */
export type Sbatch = (scriptPath: string, args: string[]) => Promise<string>;
/** `scancel` of these jobs. */
export type Scancel = (jobIds: string[]) => Promise<void>;

export interface SubmitOptions {
  workspaceRoot: string;
  /** How a compute node runs Nx, e.g. the workspace's node_modules/.bin/nx. */
  nxCommand: string[];
  /**
   * The store settings this side uses (products/store.ts storeSettings), exported to every job: the workspace's product
   * links lead to that store, so a job must put blobs there too, whatever its HOME on the node. It must be on a path the
   * nodes share (docs/slurm.md).
   */
  storeEnv?: Record<string, string>;
  scriptsDir: string;
  logsDir: string;
  sbatch: Sbatch;
  scancel: Scancel;
  /** Options of the task's own job (resources: --cpus-per-task, --mem, --time, --partition…); none by default. */
  argsFor?: (taskId: string) => string[];
}

export interface SubmittedJob {
  taskId: string;
  jobId: string;
  logFile: string;
}

/** The `nx run` argument of a task: `project:target[:configuration]`, which Nx resolves against its graph. */
export function nxRunTarget(task: GraphTask): string {
  return [task.project, task.target, ...(task.configuration ? [task.configuration] : [])].join(':');
}

/** A file name for a task id (`@pharos/nx-plugin:build` → `@pharos_nx-plugin_build`); no `%`, which Slurm would expand. */
export function taskFileStem(taskId: string): string {
  return taskId.replace(/[^A-Za-z0-9@.+-]+/g, '_');
}

/** The batch script of one task: its comment lines name what it is, as `cat` of it or `scontrol write batch_script` shows. */
export function batchScript(taskId: string, task: GraphTask, opts: Pick<SubmitOptions, 'workspaceRoot' | 'nxCommand' | 'storeEnv'>): string {
  const command = [...opts.nxCommand, 'run', nxRunTarget(task), '--exclude-task-dependencies'];
  return [
    '#!/bin/sh',
    `# pharos submit: Nx task ${JSON.stringify(taskId)}, one job of a chain.`,
    // SLURM_JOB_ID is set in here, so the task's executor runs its work on this node instead of submitting another job.
    'set -eu',
    `cd ${shellQuote(opts.workspaceRoot)}`,
    // No Nx daemon: jobs on several nodes share this workspace, and with it the daemon's files under .nx/.
    'export NX_DAEMON=false',
    ...Object.entries(opts.storeEnv ?? {}).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    `exec ${command.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}

/**
 * Where a job's output goes, as an `--output` pattern: `%j` becomes the job id, so a task submitted again never writes
 * into the log of a job still running; `%` of the directory doubled so Slurm keeps it.
 */
export function logPattern(logsDir: string, taskId: string): string {
  // A backslash would make Slurm take the whole pattern literally, and the log would not be where we say it is.
  if (logsDir.includes('\\'))
    throw new PharosError(`the log directory ${logsDir} has a backslash, which Slurm's --output reads as "no patterns"`, {
      step: 'submit the chain',
      next: 'move the workspace to a path without one',
    });
  return join(logsDir.replace(/%/g, '%%'), `${taskFileStem(taskId)}.%j.log`);
}

/** The log of job `jobId` of a task, as Slurm resolves logPattern's `%j`. */
export function jobLogFile(logsDir: string, taskId: string, jobId: string): string {
  return join(logsDir, `${taskFileStem(taskId)}.${jobId}.log`);
}

/** Where jobs' logs go: dist/, which the nodes share with the workspace and a user looks in for what was built. */
export function slurmLogsDir(workspaceRoot: string): string {
  return join(workspaceRoot, 'dist', 'slurm', 'logs');
}

export function sbatchArgs(
  step: ChainStep,
  jobIdOf: ReadonlyMap<string, string>,
  opts: Pick<SubmitOptions, 'workspaceRoot' | 'logsDir' | 'argsFor'>,
): string[] {
  const after = step.after.map((id) => {
    const jobId = jobIdOf.get(id);
    if (!jobId) throw new Error(`${step.id} comes before its dependency ${id} in the chain`);
    return jobId;
  });
  return [
    // The task's own options first: where sbatch is given one twice the last wins, and the chain's must.
    ...(opts.argsFor?.(step.id) ?? []),
    `--job-name=pharos:${step.id}`,
    `--output=${logPattern(opts.logsDir, step.id)}`,
    `--chdir=${opts.workspaceRoot}`,
    ...(after.length ? [`--dependency=afterok:${after.join(':')}`, '--kill-on-invalid-dep=yes'] : []),
  ];
}

/** The message of a chain that failed at `taskId`, once the jobs submitted before it are cancelled (or could not be). */
async function cancelEarlier(taskId: string, submitted: SubmittedJob[], err: unknown, scancel: Scancel): Promise<PharosError> {
  const ids = submitted.map((j) => j.jobId);
  const reason = err instanceof Error ? err.message : String(err);
  let earlier = 'nothing had been submitted before it';
  if (ids.length) {
    earlier = `the ${ids.length} job(s) submitted before it were cancelled (${ids.join(' ')})`;
    try {
      await scancel(ids);
    } catch (cancelErr) {
      earlier = `cancelling the ${ids.length} job(s) submitted before it failed too (${(cancelErr as Error).message}): scancel ${ids.join(' ')}`;
    }
  }
  return new PharosError(`submitting ${taskId} failed: ${reason}; ${earlier}`, {
    step: 'submit the chain',
    ...(err instanceof PharosError ? { next: err.details.next, tail: err.details.tail } : {}),
  });
}

/**
 * Submits `order` (chainOrder's) as jobs, in order, each after its dependencies' jobs. All or nothing: when one
 * submission fails, or Ctrl-C comes, the jobs submitted so far are cancelled: the user, told the submission failed,
 * submits again, and half a chain left queued would build the same tasks a second time beside the new one.
 */
export async function submitChain(order: ChainStep[], opts: SubmitOptions): Promise<SubmittedJob[]> {
  const submitted: SubmittedJob[] = [];
  const jobIdOf = new Map<string, string>();
  let settled = false; // the chain is whole, or cancelled by cancelEarlier: nothing left for an interrupt to cancel
  const cancelOnInterrupt = onInterrupt(async () => {
    if (!settled && submitted.length) await opts.scancel(submitted.map((j) => j.jobId));
  });
  try {
    // Slurm opens the output file on the node and fails the job when its directory is missing.
    await mkdir(opts.logsDir, { recursive: true });
    for (const step of order) {
      try {
        // An interrupt cancelled what was submitted; a job submitted after that would escape the cancellation.
        const signal = interruptSignal();
        if (signal) throw new PharosError(`${signal} received`);
        const script = join(opts.scriptsDir, `${taskFileStem(step.id)}.sh`);
        await writeAtomically(script, (tmp) => writeFile(tmp, batchScript(step.id, step.task, opts), { mode: 0o755 }));
        // sbatch hands Slurm the script's text, so the file is scratch once it returns.
        const jobId = await opts.sbatch(script, sbatchArgs(step, jobIdOf, opts)).finally(() => rm(script, { force: true }));
        const logFile = jobLogFile(opts.logsDir, step.id, jobId);
        jobIdOf.set(step.id, jobId);
        submitted.push({ taskId: step.id, jobId, logFile });
      } catch (err) {
        settled = true;
        throw await cancelEarlier(step.id, submitted, err, opts.scancel);
      }
    }
    settled = true;
    return submitted;
  } finally {
    await cancelOnInterrupt();
  }
}
