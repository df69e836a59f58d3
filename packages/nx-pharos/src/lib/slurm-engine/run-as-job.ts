import type { ExecutorContext } from '@nx/devkit';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { ResourceSpec, SchedulerOption } from '../../definitions/scheduler-resources';
import { storeSettings } from '../../products/store';
import { teamStoreEnv } from '../team-store/settings';
import * as slurmTools from '../../tools/slurm';
import { succeeded } from '../../tools/slurm';
import { writeAtomically } from '../../utils/atomic-file';
import { interruptSignal, onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel } from '../../utils/executor';
import { batchScript, sbatchArgs } from './batch-script';
import { followJob, jobFailure, type FollowDeps, type FollowedJob } from './follow';
import { jobLogFile, logPattern, slurmLogsDir, taskFileStem } from './submit';
import { probeWorkspace, type SlurmClient } from './workspace-probe';
import { nodeBinary, workspaceSlurmOptions } from './workspace-options';

/**
 * One target as one Slurm job: the job runs the target's own executor on a compute node (bin/pharos-task.cjs, with
 * the options and context Nx gave it here), and this side submits it, streams its log, reports how it ended, and
 * cancels it on Ctrl-C. Inside the job SLURM_JOB_ID is set, so the executor there does its work where it is, and the
 * product lock it takes records the job.
 */

export interface JobRequest {
  /** The executor's folder under executors/. */
  executor: string;
  options: object;
  context: ExecutorContext;
  resources: ResourceSpec;
  /** The target's partition: over a --partition among `other`, which is over the plugin option; else the cluster's default. */
  partition?: string;
  /** The sbatch flags kept apart from the resources (an overlay script's #SBATCH --account, --qos…). */
  other?: SchedulerOption[];
  /** The file `other` was read from, for errors. */
  file?: string;
  /** Why Slurm runs it, for the submitted line ("PHAROS_ENGINE=slurm"). */
  why?: string;
  slurm?: SlurmClient;
  out?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** The follower's pace (tests). */
  follow?: Pick<FollowDeps, 'pollMs' | 'sleep'>;
}

/** What the job's pharos-task reads. */
export interface TaskRequest {
  executor: string;
  options: Record<string, unknown>;
  context: ExecutorContext;
}

/** The entry the job runs, in the plugin's own tree, which the nodes see at the same path as the workspace. */
export const TASK_ENTRY = resolve(__dirname, '../../../bin/pharos-task.cjs');

const STEP = 'run the target as a Slurm job';

/**
 * The context as the job gets it: what our executors read (root; projectName and targetName for the task's label and
 * its log; projectsConfigurations for project roots such as the dev container's; target and configurationName, which
 * the source builds check; nxJsonConfiguration, for the plugin's options), plus cwd and isVerbose, which Nx's own
 * helpers read. The project graph goes without its external (npm) nodes, which none of ours reads and which are most
 * of its size; taskGraph is this run's, not the job's.
 */
export function jobContext(context: ExecutorContext): ExecutorContext {
  const graph = context.projectGraph;
  return {
    root: context.root,
    cwd: context.cwd,
    isVerbose: context.isVerbose,
    projectName: context.projectName,
    targetName: context.targetName,
    configurationName: context.configurationName,
    target: context.target,
    projectsConfigurations: context.projectsConfigurations,
    nxJsonConfiguration: context.nxJsonConfiguration,
    projectGraph: { nodes: graph?.nodes ?? {}, dependencies: graph?.dependencies ?? {} },
  };
}

export function taskRequest(executor: string, options: object, context: ExecutorContext): TaskRequest {
  return { executor, options: { ...options }, context: jobContext(context) };
}

/** scontrol's RunTime, `[days-]hours:minutes:seconds`, in seconds. */
export function runTimeSeconds(text: string | undefined): number | undefined {
  const m = /^(?:(\d+)-)?(\d+):(\d+):(\d+)$/.exec(text?.trim() ?? '');
  if (!m) return undefined;
  const [d, h, min, s] = m.slice(1).map((v) => Number(v ?? 0));
  return ((d * 24 + h) * 60 + min) * 60 + s;
}

/**
 * The probe's verdicts, in Nx's data folder of the workspace (NX_WORKSPACE_DATA_DIRECTORY, else .nx/workspace-data):
 * per workspace and never in a product or the cache, and `nx reset`, which a user reaches for when the setup changed,
 * forgets them, so the next job probes again.
 */
export function probeCacheFile(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.NX_WORKSPACE_DATA_DIRECTORY || env.NX_PROJECT_GRAPH_CACHE_DIRECTORY || join('.nx', 'workspace-data');
  return join(isAbsolute(dir) ? dir : join(workspaceRoot, dir), 'pharos-slurm-probe.json');
}

/** Slurm's client commands, each bounded by a timeout (tools/slurm.ts). */
function slurmClient(): SlurmClient {
  return { sbatch: slurmTools.sbatch, squeueStates: slurmTools.squeueStates, finalJob: slurmTools.finalJob, scancel: slurmTools.scancel };
}

/**
 * The job's run time and the engine's overhead: this side's time from writing the request to reading the job's end,
 * less the run. The run is the batch script's own, from its end line (to the millisecond, so it counts the job's node
 * process starting but not Slurm starting the job); without that line, scontrol's RunTime, in whole seconds.
 */
function timingLine(id: string, record: FollowedJob, elapsedMs: number): string | undefined {
  const exact = record.scriptMs !== undefined;
  const ran = exact ? record.scriptMs! / 1000 : runTimeSeconds(record.runTime);
  if (ran === undefined) return undefined;
  // bench/ reads this line.
  return `pharos: job ${id} ran ${ran.toFixed(exact ? 2 : 0)} s; engine overhead ${(elapsedMs / 1000 - ran).toFixed(exact ? 2 : 1)} s\n`;
}

/** Submits the target's job and follows it to its end; throws what went wrong, a job that did not complete included. */
export async function runJob(req: JobRequest): Promise<void> {
  const { context } = req;
  const env = req.env ?? process.env;
  const out = req.out ?? process.stdout;
  const slurm = req.slurm ?? slurmClient();
  const root = context.root;
  const label = taskLabel(context);
  const workspace = workspaceSlurmOptions(context);
  const partition = req.partition ?? req.other?.find((o) => o.flag === '--partition')?.value ?? workspace.partition;
  await probeWorkspace({ workspaceRoot: root, partition, slurm, cacheFile: probeCacheFile(root, env), out, follow: req.follow });

  const started = Date.now();
  const stem = join(root, 'tmp', 'slurm', `${taskFileStem(label)}-${randomBytes(4).toString('hex')}`);
  const [requestFile, script] = [`${stem}.json`, `${stem}.sh`];
  let jobId: string | undefined;
  let following = false;
  // On Ctrl-C the follower cancels the job (and waits until Slurm let it go) before this runs; a job submitted but not
  // yet followed is cancelled here.
  const cleanUp = onInterrupt(async () => {
    if (jobId && !following) await slurm.scancel([jobId]).catch(() => undefined);
    await Promise.all([requestFile, script].map((f) => rm(f, { force: true })));
  });
  try {
    await writeAtomically(requestFile, (tmp) => writeFile(tmp, `${JSON.stringify(taskRequest(req.executor, req.options, context))}\n`));
    const argv = [nodeBinary(workspace, env), TASK_ENTRY, requestFile];
    // The job puts blobs in this side's store, where the workspace's links lead: it must be on a path the nodes share;
    // and it reaches (and, in CI, publishes to) the same team store.
    const jobEnv = { ...storeSettings(env), ...teamStoreEnv(env) };
    await writeAtomically(script, (tmp) => writeFile(tmp, batchScript({ steps: [{ what: label, argv }], env: jobEnv }), { mode: 0o755 }));
    const logsDir = slurmLogsDir(root);
    // Slurm opens the output file on the node and fails the job when its folder is missing.
    await mkdir(logsDir, { recursive: true });
    const args = sbatchArgs({
      resources: req.resources,
      partition,
      jobName: `pharos:${label}`,
      // One log per job (%j), as pharos submit names them: a second run of the target never truncates a running job's.
      logFile: logPattern(logsDir, label),
      workdir: root,
      other: req.other,
      file: req.file,
    });
    jobId = await slurm.sbatch(script, args);
    const signal = interruptSignal();
    if (signal) throw new PharosError(`${signal} received while submitting; job ${jobId} is cancelled`, { step: STEP });
    const logFile = jobLogFile(logsDir, label, jobId);
    out.write(`pharos: ${label} submitted as Slurm job ${jobId}${req.why ? ` (${req.why})` : ''}; log: ${logFile}\n`);
    following = true;
    const record = await followJob(jobId, logFile, { slurm, out, ...req.follow });
    const timing = timingLine(jobId, record, Date.now() - started);
    if (timing) out.write(timing);
    if (!succeeded(record)) throw jobFailure(record, logFile);
  } finally {
    await cleanUp();
  }
}

/** The target as a Slurm job, with an executor's result: a failure is one readable message and `success: false`. */
export function runAsJob(req: JobRequest): Promise<{ success: boolean }> {
  return runExecutor(() => runJob(req));
}
