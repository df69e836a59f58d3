import type { ExecutorContext } from '@nx/devkit';
import { assertDaemon, dockerClient, runContainer } from '../../tools/docker';
import { devContainerForTask, devContainerRunSpec, hostFacts } from '../../tools/dev-container';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';

export interface DevContainerRunOptions {
  command?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  fuse?: boolean;
  dockerSocket?: boolean;
  devContainer?: string;
}

export default async function devContainerRunExecutor(options: DevContainerRunOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const argv = options.args?.length ? options.args : options.command ? ['bash', '-c', options.command] : undefined;
    if (!argv) throw new PharosError('set "command" or "args"', { step: taskLabel(context) });
    const docker = dockerClient();
    await assertDaemon(docker);
    const imageId = await devContainerForTask(docker, context, options.devContainer);
    const spec = devContainerRunSpec(imageId, {
      workspaceRoot: context.root,
      cwd: workspacePath(options.cwd ?? '{projectRoot}', context),
      command: argv,
      // The command can check where it runs against the host's view (Nx turns {workspaceRoot} in options into "").
      env: { PHAROS_WORKSPACE_ROOT: context.root, PHAROS_HOST_UID: String(process.getuid?.() ?? 0), ...options.env },
      fuse: options.fuse,
      dockerSocket: options.dockerSocket,
      label: taskLabel(context),
    }, hostFacts());
    const code = await runContainer(docker, spec, { stdout: process.stdout, stderr: process.stderr });
    if (code !== 0) {
      throw new PharosError(`\`${argv.join(' ')}\` exited with code ${code} in the dev container`, {
        step: taskLabel(context),
        next: 'read its output above; reproduce with tools/run-in-dev-container',
      });
    }
  });
}
