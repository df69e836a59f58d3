import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { baseImages, parseDockerfile, normalizeImageRef, type ParsedDockerfile } from '../../definitions/dockerfile';
import type { ContainerArtifact } from '../../definitions/container';
import { imageProducers } from '../../products/image-producers';
import { assertDaemon, buildImage, BuildStepError, dockerClient, inspectImage, tryPull } from '../../tools/docker';
import { ensureImage, publishImage } from '../../tools/image-store';
import { imageProductPaths, readImageManifest, type ImageManifest } from '../../products/image';
import { removeProducts } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import { runExecutor, workspacePath } from '../../utils/executor';
import { buildContextWithArtifacts } from './build-context';

export interface DockerImageExecutorOptions {
  dockerfile?: string;
  context?: string;
  tag: string;
  buildArgs?: Record<string, string>;
  target?: string;
  outputPath?: string;
  /** Files other projects produce, copied into the build context (declared in container.yaml). */
  artifacts?: ContainerArtifact[];
}

export default async function dockerImageExecutor(options: DockerImageExecutorOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const dockerfile = workspacePath(options.dockerfile ?? '{projectRoot}/Dockerfile', context);
    const contextDir = workspacePath(options.context ?? '{projectRoot}', context);
    const shownDockerfile = relative(context.root, dockerfile);
    const outputDir = workspacePath(options.outputPath ?? 'dist/{projectRoot}', context);
    const { archive, manifest } = imageProductPaths(outputDir);
    await removeProducts([manifest, archive]);

    const parsed = parseDockerfile(await readFile(dockerfile, 'utf8').catch(() => {
      throw new PharosError('Dockerfile not found', { file: shownDockerfile });
    }));
    if (parsed.errors.length) {
      const [first] = parsed.errors;
      throw new PharosError(`Dockerfile syntax error: ${first.message}`, { file: shownDockerfile, line: first.line, next: 'fix the instruction on that line' });
    }

    const docker = dockerClient();
    await assertDaemon(docker);
    const base = await prepareBaseImages(docker, parsed, options.buildArgs ?? {}, context, shownDockerfile);

    const assembled = options.artifacts?.length
      ? await buildContextWithArtifacts(contextDir, options.artifacts, context.root, (t) => process.stdout.write(t))
      : undefined;
    let imageId: string;
    try {
      imageId = await buildImage(docker, {
        contextDir: assembled?.dir ?? contextDir,
        dockerfile: relative(contextDir, dockerfile),
        tag: options.tag,
        buildArgs: options.buildArgs,
        target: options.target,
        labels: { 'org.pharos.project': context.projectName as string },
        onOutput: (t) => process.stdout.write(t),
      });
    } catch (err) {
      if (!(err instanceof BuildStepError)) throw err;
      // The builder numbers steps by instruction (and appends one for our labels), so step N is instruction N.
      const instruction = err.step ? parsed.instructions[err.step.index - 1] : undefined;
      throw new PharosError(err.message.trim(), {
        file: shownDockerfile,
        line: instruction?.line,
        step: err.step ? `step ${err.step.index}/${err.step.total} \`${err.step.text}\`` : 'build',
        tail: err.tail,
        next: instruction ? `fix the ${instruction.keyword} at ${shownDockerfile}:${instruction.line}, then run the target again` : 'read the daemon message above',
      });
    } finally {
      await assembled?.dispose();
    }

    await publishImage(docker, {
      project: context.projectName as string, imageId, tags: [options.tag], outputDir, base, definedBy: shownDockerfile,
      log: (t) => process.stdout.write(t),
    });
  });
}

/**
 * Every FROM image must be in the daemon before the build, because the builder never pulls here: images made by
 * other projects come back from their archives (a cache restore leaves only files), the rest from a registry.
 */
async function prepareBaseImages(docker: Docker, parsed: ParsedDockerfile, buildArgs: Record<string, string>, ctx: ExecutorContext, shownDockerfile: string): Promise<ImageManifest['base']> {
  const projects = ctx.projectsConfigurations?.projects ?? {};
  const producers = imageProducers(projects);
  const base: ImageManifest['base'] = [];
  for (const ref of baseImages(parsed, buildArgs)) {
    const normalized = normalizeImageRef(ref.ref);
    const producer = producers.get(normalized);
    if (producer) {
      const root = projects[producer].root;
      const manifestFile = join(ctx.root, 'dist', root, 'image.json');
      const m = readImageManifest(manifestFile, ctx.root, `${producer}:image`);
      await ensureImage(docker, manifestFile, m, (t) => process.stdout.write(t));
      base.push({ ref: normalized, id: m.id, source: producer });
      continue;
    }
    let info = await inspectImage(docker, normalized);
    if (!info) {
      const pulled = await tryPull(docker, normalized, (t) => process.stdout.write(t));
      info = pulled.ok ? await inspectImage(docker, normalized) : undefined;
      if (!info) {
        throw new PharosError(`base image ${ref.ref} is not produced by any project, not in the daemon, and cannot be pulled (${pulled.reason})`, {
          file: shownDockerfile,
          line: ref.line,
          next: 'add a project that produces it (a folder with a base-image.yaml or Dockerfile), or `docker load` it',
        });
      }
    }
    base.push({ ref: normalized, id: info.Id, source: 'daemon' });
  }
  return base;
}
