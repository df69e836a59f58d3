import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { hostname } from 'node:os';
import { relative } from 'node:path';
import { storeToMount } from '../products/store-files';
import { PharosError } from '../utils/errors';
import { taskLabel } from '../utils/executor';
import { Apptainer, type ApptainerRunner } from './apptainer';
import { devContainerSif, HostApptainer } from './apptainer-host';
import { devContainerForTask, devContainerRoot } from './dev-container';
import { assertDaemon, dockerClient } from './docker';

/** Which Apptainer an executor's task gets: the dev container's, through Docker, or this host's own. */

export const APPTAINER_VARIABLE = 'PHAROS_APPTAINER';

export interface ApptainerPlace {
  /** `host`: this machine's Apptainer (HostApptainer); `dev-container`: Apptainer in the dev container, through Docker. */
  where: 'host' | 'dev-container';
  why: string;
}

/** Where Apptainer runs: on the host inside a Slurm job (compute nodes have Apptainer, not Docker) or when asked to. */
export function apptainerPlace(env: NodeJS.ProcessEnv = process.env): ApptainerPlace {
  const asked = env[APPTAINER_VARIABLE]?.trim();
  if (asked && asked !== 'host') {
    throw new PharosError(`${APPTAINER_VARIABLE} is "${asked}", which is not a place to run Apptainer`, {
      step: 'choose where Apptainer runs',
      next: `set ${APPTAINER_VARIABLE}=host to use this machine's Apptainer, or unset it to use the dev container's (through Docker)`,
    });
  }
  if (env.SLURM_JOB_ID) return { where: 'host', why: `inside Slurm job ${env.SLURM_JOB_ID}` };
  if (asked === 'host') return { where: 'host', why: `${APPTAINER_VARIABLE}=host` };
  return { where: 'dev-container', why: 'the default outside a Slurm job' };
}

export interface ApptainerForTaskOptions {
  /** A client the executor already checked; else one is made (and checked) only when Apptainer runs through Docker. */
  docker?: Docker;
  env?: NodeJS.ProcessEnv;
}

/**
 * Apptainer for an executor's task. On the host (see apptainerPlace) it runs the other tools from the SIF of the dev
 * container `devContainerProject`, and Docker is never asked; otherwise it is that project's image, loaded when the
 * daemon lacks it.
 */
export async function apptainerForTask(context: ExecutorContext, devContainerProject: string, opts: ApptainerForTaskOptions = {}): Promise<ApptainerRunner> {
  const place = apptainerPlace(opts.env);
  if (place.where === 'host') {
    const devSif = await devContainerSif(context.root, devContainerProject, devContainerRoot(context, devContainerProject));
    process.stdout.write(`pharos: apptainer on ${hostname()} (${place.why}); other tools from ${relative(context.root, devSif)}\n`);
    return new HostApptainer({ devSif, workspaceRoot: context.root, store: storeToMount(opts.env) });
  }
  let docker = opts.docker;
  if (!docker) {
    docker = dockerClient();
    await assertDaemon(docker);
  }
  return new Apptainer(docker, await devContainerForTask(docker, context, devContainerProject), context.root, taskLabel(context));
}
