import { PHAROS_PLUGIN } from '../../definitions/plugin-options';
import { PharosError } from '../../utils/errors';

/**
 * Where a target's work runs: on this machine, or as a Slurm job. The nearer the choice is to the target, the more it
 * weighs: the target's own option, then PHAROS_ENGINE (one shell, one CI job), then the workspace's plugin option in
 * nx.json, then local. Inside a Slurm job everything runs locally: a job that submits jobs would hold its node while
 * it waits for another.
 */

export type Engine = 'local' | 'slurm';

export const ENGINE_ENV = 'PHAROS_ENGINE';
const ENGINES: readonly Engine[] = ['local', 'slurm'];

export interface EngineChoice {
  engine: Engine;
  /** Why, for the log: "PHAROS_ENGINE=slurm". */
  why: string;
}

export function chooseEngine(from: { targetOption?: Engine; workspaceOption?: Engine; env: NodeJS.ProcessEnv }): EngineChoice {
  const fromEnv = from.env[ENGINE_ENV]?.trim();
  if (fromEnv && !(ENGINES as readonly string[]).includes(fromEnv)) {
    throw new PharosError(`${ENGINE_ENV} is "${fromEnv}", which is not an engine`, {
      step: 'choose the engine',
      next: `set ${ENGINE_ENV} to local (run targets on this machine) or slurm (run them as Slurm jobs), or unset it`,
    });
  }
  const jobId = from.env.SLURM_JOB_ID?.trim();
  if (jobId) return { engine: 'local', why: `inside Slurm job ${jobId} (SLURM_JOB_ID): targets run where they are, never as nested jobs` };
  if (from.targetOption) return { engine: from.targetOption, why: `the target's engine option` };
  if (fromEnv) return { engine: fromEnv as Engine, why: `${ENGINE_ENV}=${fromEnv}` };
  if (from.workspaceOption) return { engine: from.workspaceOption, why: `the workspace's engine option (the nx-pharos plugin's options in nx.json)` };
  return { engine: 'local', why: 'the default' };
}

/**
 * The executors whose work runs in Apptainer, so a compute node without Docker can run them as Slurm jobs. Everything
 * else (Docker builds, Packer and QEMU, targets with no work) stays on the machine that runs Nx.
 */
export const JOB_EXECUTORS: ReadonlySet<string> = new Set(['overlay', 'def-sif', 'dev-container-run'].map((e) => `${PHAROS_PLUGIN}:${e}`));
