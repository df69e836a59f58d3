import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { join } from 'node:path';
import { imageProducers } from '../plugin/infer-projects';
import { PharosError } from '../utils/errors';
import { taskLabel } from '../utils/executor';
import { ensureImage, readImageManifest, type ImageManifest } from './image-manifest';

/**
 * The clean Debian image of a suite (`debian:<suite>`), from the project that produces it: toolchain containers and
 * verification containers start from it, loaded from its archive when the daemon lacks it.
 */
export async function suiteImage(docker: Docker, context: ExecutorContext, suite: string): Promise<ImageManifest> {
  const projects = context.projectsConfigurations?.projects ?? {};
  const tag = `debian:${suite}`;
  const producer = imageProducers(projects).get(tag);
  if (!producer) {
    throw new PharosError(`no project produces ${tag}`, {
      step: taskLabel(context),
      next: `add containers/debian-${suite}/base-image.yaml with "suite: ${suite}"`,
    });
  }
  const file = join(context.root, 'dist', projects[producer].root, 'image.json');
  const manifest = readImageManifest(file, context.root, `${producer}:image`);
  await ensureImage(docker, file, manifest, (t) => process.stdout.write(t));
  return manifest;
}
