import type { ExecutorContext } from '@nx/devkit';
import { readFile } from 'node:fs/promises';
import { parseDockerfile, pinBaseImages } from '../../definitions/dockerfile';
import { normalizeDockerImageOptions, type DockerImageExecutorOptions } from '../../lib/image/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { assertDaemon, buildImage, BuildStepError, dockerClient } from '../../tools/docker';
import { publishImage } from '../../tools/image-store';
import { removeProducts } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import { prepareBaseImages } from './base-images';
import { stageBuildContext } from './build-context';

export type { DockerImageExecutorOptions };

const log = (t: string) => process.stdout.write(t);

export default async function dockerImageExecutor(options: DockerImageExecutorOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const o = normalizeDockerImageOptions(options, context);
    await run.lockProduct(context, o.products.archive, options);
    const text = await readFile(o.dockerfile, 'utf8').catch(() => {
      throw new PharosError('Dockerfile not found', { file: o.shownDockerfile });
    });
    const parsed = parseDockerfile(text);
    if (parsed.errors.length) {
      const [first] = parsed.errors;
      throw new PharosError(`Dockerfile syntax error: ${first.message}`, {
        file: o.shownDockerfile,
        line: first.line,
        next: 'fix the instruction on that line',
      });
    }

    // Only a Dockerfile that parses costs the old product: a typo must leave dist/ as it was.
    await removeProducts([o.products.manifest, o.products.archive]);
    const docker = dockerClient();
    await assertDaemon(docker);
    const { base, pins } = await prepareBaseImages(docker, parsed, o.buildArgs, context, o.shownDockerfile);

    const staged = await stageBuildContext({
      contextDir: o.contextDir,
      dockerfile: o.dockerfile,
      dockerfileText: pinBaseImages(text, parsed, pins),
      artifacts: o.artifacts,
      workspaceRoot: o.workspaceRoot,
      log,
    });
    let imageId: string;
    try {
      imageId = await buildImage(docker, {
        contextDir: staged.dir,
        dockerfile: staged.dockerfile,
        tag: o.tag,
        buildArgs: o.buildArgs,
        target: o.target,
        labels: { 'org.pharos.project': o.project },
        onOutput: log,
      });
    } catch (err) {
      if (!(err instanceof BuildStepError)) throw err;
      // The builder numbers steps by instruction (and appends one for our labels), so step N is instruction N.
      const instruction = err.step ? parsed.instructions[err.step.index - 1] : undefined;
      throw new PharosError(err.message.trim(), {
        file: o.shownDockerfile,
        line: instruction?.line,
        step: err.step ? `step ${err.step.index}/${err.step.total} \`${err.step.text}\`` : 'build',
        tail: err.tail,
        next: instruction
          ? `fix the ${instruction.keyword} at ${o.shownDockerfile}:${instruction.line}, then run the target again`
          : 'read the daemon message above',
      });
    } finally {
      await staged.dispose();
    }

    await publishImage(docker, {
      project: o.project,
      imageId,
      tags: [o.tag],
      outputDir: o.outputDir,
      workspaceRoot: o.workspaceRoot,
      base,
      definedBy: o.shownDockerfile,
      log,
    });
  });
}
