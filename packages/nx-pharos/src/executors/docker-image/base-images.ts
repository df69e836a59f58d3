import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { join } from 'node:path';
import { baseImages, normalizeImageRef, type ParsedDockerfile } from '../../definitions/dockerfile';
import { imageManifestPath, readImageManifest, type ImageManifest } from '../../products/image';
import { imageProducers } from '../../products/image-producers';
import { inspectImage, tryPull } from '../../tools/docker';
import { ensureImage } from '../../tools/image-store';
import { PharosError } from '../../utils/errors';

/**
 * Every FROM image must be in the daemon before the build, because the builder never pulls here: images made by
 * other projects come back from their archives (a cache restore leaves only files), the rest from a registry.
 */
export async function prepareBaseImages(
  docker: Docker,
  parsed: ParsedDockerfile,
  buildArgs: Record<string, string>,
  ctx: ExecutorContext,
  shownDockerfile: string,
): Promise<ImageManifest['base']> {
  const projects = ctx.projectsConfigurations?.projects ?? {};
  const producers = imageProducers(projects);
  const log = (t: string) => process.stdout.write(t);
  const base: ImageManifest['base'] = [];
  for (const ref of baseImages(parsed, buildArgs)) {
    const normalized = normalizeImageRef(ref.ref);
    const producer = producers.get(normalized);
    if (producer) {
      const manifestFile = join(ctx.root, imageManifestPath(projects[producer].root));
      const m = readImageManifest(manifestFile, ctx.root, `${producer}:image`);
      await ensureImage(docker, manifestFile, m, log);
      base.push({ ref: normalized, id: m.id, source: producer });
      continue;
    }
    let info = await inspectImage(docker, normalized);
    if (!info) {
      const pulled = await tryPull(docker, normalized, log);
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
