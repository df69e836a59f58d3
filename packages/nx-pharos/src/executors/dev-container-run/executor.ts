import type { ExecutorContext } from '@nx/devkit';
import { normalizeDevContainerRunOptions, type DevContainerRunOptions } from '../../lib/image/normalize-options';
import { assertDaemon, dockerClient, runContainer } from '../../tools/docker';
import { devContainerForTask, devContainerRunSpec, hostFacts } from '../../tools/dev-container';
import { PharosError } from '../../utils/errors';
import { runExecutor } from '../../utils/executor';

export type { DevContainerRunOptions };

export default async function devContainerRunExecutor(options: DevContainerRunOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const o = normalizeDevContainerRunOptions(options, context);
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
    const code = await runContainer(docker, spec, { stdout: process.stdout, stderr: process.stderr });
    if (code !== 0) {
      throw new PharosError(`\`${o.argv.join(' ')}\` exited with code ${code} in the dev container`, {
        step: o.label,
        next: 'read its output above; reproduce with tools/run-in-dev-container',
      });
    }
  });
}
