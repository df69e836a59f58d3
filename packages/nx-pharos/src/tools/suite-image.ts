import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { join } from 'node:path';
import { imageProducers } from '../products/image-producers';
import { PharosError } from '../utils/errors';
import { taskLabel } from '../utils/executor';
import { inspectImage, tryPull } from './docker';
import { ensureImage } from './image-store';
import { IMAGE_MANIFEST, readImageManifest } from '../products/image';
import { productDir } from '../products/paths';

export interface SuiteImage {
  /** The image's ID, recorded in products as what they were built on. */
  id: string;
  tag: string;
}

/**
 * The clean image a build or verification container starts from. A bare suite name (`trixie`) means
 * `debian:<suite>`, from the project that produces it, loaded from its archive when the daemon lacks it. Another OS's
 * image is accepted by name (`ubuntu:24.04`): from a project that produces it, else the daemon, else a registry pull,
 * for sites that have one. Its scripts need apt.
 */
export async function suiteImage(docker: Docker, context: ExecutorContext, suite: string): Promise<SuiteImage> {
  const projects = context.projectsConfigurations?.projects ?? {};
  const byName = /[:/]/.test(suite);
  const tag = byName ? suite : `debian:${suite}`;
  const producer = imageProducers(projects).get(tag);
  if (producer) {
    const file = join(context.root, productDir(projects[producer].root, IMAGE_MANIFEST));
    const manifest = readImageManifest(file, context.root, `${producer}:image`);
    await ensureImage(docker, file, manifest, (t) => process.stdout.write(t));
    return { id: manifest.id, tag };
  }
  if (!byName) {
    throw new PharosError(`no project produces ${tag}`, {
      step: taskLabel(context),
      next: `add containers/debian-${suite}/base-image.yaml with "suite: ${suite}"`,
    });
  }
  const present = await inspectImage(docker, tag);
  if (present) return { id: present.Id, tag };
  const pulled = await tryPull(docker, tag, (t) => process.stdout.write(`pharos: ${t}`));
  if (pulled.id) return { id: pulled.id, tag };
  throw new PharosError(
    `no project produces ${tag}, the Docker daemon does not have it, and pulling it failed: ${pulled.reason ?? 'no image after the pull'}`,
    {
      step: taskLabel(context),
      next: `docker load the image, or add a project that produces ${tag} (a base-image.yaml or a Dockerfile tagged ${tag})`,
    },
  );
}
