import type { ExecutorContext } from '@nx/devkit';
import { slurmTimeMinutes, type ResourceSpec } from '../../definitions/scheduler-resources';
import { PharosError } from '../../utils/errors';
import { runExecutor } from '../../utils/executor';
import { chooseEngine, type Engine } from './engine';
import { runAsJob, type JobRequest } from './run-as-job';
import { workspaceSlurmOptions } from './workspace-options';

/**
 * What an executor that can run as a Slurm job adds at its top: the engine chosen for the target, and, when it is
 * Slurm, the job its options (or its script's #SBATCH lines) ask for. The executor runs as before otherwise.
 */

/** The options every such executor's schema.json adds. */
export interface EngineOptions {
  /** `local` or `slurm`, over PHAROS_ENGINE and the plugin option. */
  engine?: Engine;
  partition?: string;
}

/** What an executor without a script to read asks for, in sbatch's words. */
export interface JobResourceOptions extends EngineOptions {
  cpus?: number;
  /** A Slurm size: `4G`, `512M`, `8000` (MiB). */
  memory?: string;
  /** A Slurm time limit: `60` (minutes), `1:30:00`, `1-00:00:00`. */
  time?: string;
}

/** What a job asks for when its target does not say (as the schema.json files document): a small build's needs. */
export const DEFAULT_JOB_RESOURCES = { cpus: 2, memory: '4G', time: '1:00:00' } as const;

/** What the job is: its resources, and the sbatch flags kept apart from them with the file they come from. */
export type JobSpec = Pick<JobRequest, 'resources' | 'other' | 'file'>;

const MIB: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 ** 2 };

function optionError(name: string, value: unknown, expect: string): PharosError {
  return new PharosError(`the option ${name} is ${JSON.stringify(value)}, which is not ${expect}`, {
    step: 'size the Slurm job',
    next: `set ${name} in the target's options to ${expect}, or leave it out for the default (${DEFAULT_JOB_RESOURCES[name as keyof typeof DEFAULT_JOB_RESOURCES]})`,
  });
}

/** The resources of `cpus`, `memory` and `time`, each defaulted. */
export function jobResourcesOf(options: JobResourceOptions): ResourceSpec {
  const { cpus = DEFAULT_JOB_RESOURCES.cpus, memory = DEFAULT_JOB_RESOURCES.memory, time = DEFAULT_JOB_RESOURCES.time } = options;
  if (!Number.isInteger(cpus) || cpus < 1) throw optionError('cpus', cpus, 'a whole number of CPUs above 0');
  const mem = /^(\d+)([KMGT])?$/i.exec(String(memory));
  if (!mem || Number(mem[1]) === 0) throw optionError('memory', memory, 'a Slurm size above 0 such as 4G, 512M or 8000 (MiB)');
  const timeMinutes = slurmTimeMinutes(String(time));
  if (timeMinutes === undefined) throw optionError('time', time, 'a Slurm time limit such as 60 (minutes), 1:30:00 or 1-00:00:00');
  return { cpusPerTask: cpus, memoryMiB: Math.ceil(Number(mem[1]) * MIB[(mem[2] ?? 'M').toUpperCase()]), timeMinutes };
}

/**
 * A script's own request, with the defaults for what it leaves out: CPUs when it names neither tasks nor CPUs (a task
 * count alone already says how many), memory and time when it gives none.
 */
export function withDefaultResources(spec: ResourceSpec): ResourceSpec {
  const defaults = jobResourcesOf({});
  const cpus = spec.tasks === undefined && spec.cpusPerTask === undefined ? { cpusPerTask: defaults.cpusPerTask } : {};
  return { ...cpus, memoryMiB: defaults.memoryMiB, timeMinutes: defaults.timeMinutes, ...spec };
}

export interface EngineDeps {
  env?: NodeJS.ProcessEnv;
  runAsJob?: (req: JobRequest) => Promise<{ success: boolean }>;
}

/**
 * The target run as a Slurm job when its engine is Slurm; undefined when it runs here, as the executor always did.
 * `job` reads what the job asks for (default: the cpus, memory and time options). A mistake in choosing or sizing fails
 * the task with its message, as any executor's mistake does.
 */
export function slurmJobIfChosen<O extends EngineOptions>(
  executor: string,
  options: O,
  context: ExecutorContext,
  job: (options: O, context: ExecutorContext) => JobSpec = (o) => ({ resources: jobResourcesOf(o) }),
  deps: EngineDeps = {},
): Promise<{ success: boolean }> | undefined {
  const env = deps.env ?? process.env;
  let request: JobRequest;
  try {
    const choice = chooseEngine({ targetOption: options.engine, workspaceOption: workspaceSlurmOptions(context).engine, env });
    if (choice.engine !== 'slurm') return undefined;
    const spec = job(options, context);
    request = { executor, options, context, ...spec, resources: withDefaultResources(spec.resources), partition: options.partition, why: choice.why, env };
  } catch (err) {
    return runExecutor(async () => {
      throw err;
    });
  }
  return (deps.runAsJob ?? runAsJob)(request);
}
