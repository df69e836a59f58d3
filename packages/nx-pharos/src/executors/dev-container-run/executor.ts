import type { ExecutorContext } from '@nx/devkit';
import { normalizeDevContainerRunOptions, type DevContainerRunOptions } from '../../lib/image/normalize-options';
import { slurmJobIfChosen, type JobResourceOptions } from '../../lib/slurm-engine/target-engine';
import { runExecutor } from '../../lib/team-store/install';
import { apptainerForTask, apptainerPlace } from '../../tools/apptainer-runner';
import { assertDaemon, dockerClient, runContainer } from '../../tools/docker';
import { devContainerForTask, devContainerRunSpec, hostFacts } from '../../tools/dev-container';
import { PharosError } from '../../utils/errors';

export type { DevContainerRunOptions };

export default async function devContainerRunExecutor(options: DevContainerRunOptions & JobResourceOptions, context: ExecutorContext) {
  const job = slurmJobIfChosen('dev-container-run', options, context);
  if (job) return job;
  return runExecutor(async () => {
    const o = normalizeDevContainerRunOptions(options, context);
    if (apptainerPlace().where === 'host') return inDevSif(o, context);
    const docker = dockerClient();
    await assertDaemon(docker);
    const imageId = await devContainerForTask(docker, context, o.devContainer);
    const spec = devContainerRunSpec(
      imageId,
      {
        workspaceRoot: o.workspaceRoot,
        cwd: o.cwd,
        command: o.argv,
        env: o.env,
        fuse: o.fuse,
        dockerSocket: o.dockerSocket,
        label: o.label,
      },
      hostFacts(),
    );
    failed(o, await runContainer(docker, spec, { stdout: process.stdout, stderr: process.stderr }));
  });
}

function failed(o: ReturnType<typeof normalizeDevContainerRunOptions>, code: number): void {
  if (code === 0) return;
  throw new PharosError(`\`${o.argv.join(' ')}\` exited with code ${code} in the dev container`, {
    step: o.label,
    next: 'read its output above; reproduce with tools/run-in-dev-container',
  });
}

/**
 * The command in the dev container's SIF, on a node without Docker (inside a Slurm job): the same image, as the same
 * user, the workspace at its own path; its directory and environment set by `env` and `cd` in the SIF.
 */
async function inDevSif(o: ReturnType<typeof normalizeDevContainerRunOptions>, context: ExecutorContext): Promise<void> {
  if (o.dockerSocket) {
    throw new PharosError('this command asks for the Docker socket, and a compute node has no Docker', {
      step: o.label,
      next: 'run this target locally: set its option engine to local (or PHAROS_ENGINE=local)',
    });
  }
  const apptainer = await apptainerForTask(context, o.devContainer);
  const env = Object.entries(o.env).map(([k, v]) => `${k}=${v}`);
  const argv = ['env', ...env, 'sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', o.cwd, ...o.argv];
  const r = await apptainer.run({ argv, fuse: o.fuse, echo: process.stdout, what: o.label });
  failed(o, r.exitCode);
}
