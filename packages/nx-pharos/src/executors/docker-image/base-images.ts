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
 * other projects come back from their archives (a cache restore leaves only files), the rest from a registry. Each
 * FROM is resolved to an image ID here, and the build is given those IDs (`pins`, by FROM line), never the names: a tag
 * is shared by every workspace on the daemon, and another one's build can move it at any moment.
 */
export async function prepareBaseImages(
  docker: Docker,
  parsed: ParsedDockerfile,
  buildArgs: Record<string, string>,
  ctx: ExecutorContext,
  shownDockerfile: string,
): Promise<{ base: ImageManifest['base']; pins: Map<number, string> }> {
  const projects = ctx.projectsConfigurations?.projects ?? {};
  const producers = imageProducers(projects);
  const log = (t: string) => process.stdout.write(t);
  const base: ImageManifest['base'] = [];
  const pins = new Map<number, string>();
  for (const ref of baseImages(parsed, buildArgs)) {
    const normalized = normalizeImageRef(ref.ref);
    const producer = producers.get(normalized);
    if (producer) {
      const manifestFile = join(ctx.root, imageManifestPath(projects[producer].root));
      const m = readImageManifest(manifestFile, ctx.root, `${producer}:image`);
      await ensureImage(docker, manifestFile, m, log);
      base.push({ ref: normalized, id: m.id, source: producer });
      pins.set(ref.line, m.id);
      continue;
    }
    // No project makes it, so its name is all there is: read once, and the build pinned to what was read.
    let id = (await inspectImage(docker, normalized))?.Id;
    if (!id) {
      const pulled = await tryPull(docker, normalized, log);
      id = pulled.id;
      if (!id) {
        throw new PharosError(`base image ${ref.ref} is not produced by any project, not in the daemon, and cannot be pulled (${pulled.reason})`, {
          file: shownDockerfile,
          line: ref.line,
          next: 'add a project that produces it (a folder with a base-image.yaml or Dockerfile), or `docker load` it',
        });
      }
    }
    base.push({ ref: normalized, id, source: 'daemon' });
    pins.set(ref.line, id);
  }
  return { base, pins };
}
