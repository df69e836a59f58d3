import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { dirname } from 'node:path';
import { DEV_CONTAINER_PROJECT, imageDir, imageManifestPath } from '../products/image';
import { sifOutputs } from './infer-container';
import {
  baseImageTasks,
  buildTarget,
  dockerImageTag,
  executorInputs,
  IMAGE_NPM_INPUTS,
  imageOutputs,
  PLUGIN,
  projectName,
  UPSTREAM_IMAGE_MANIFESTS,
} from './target-inputs';

/** `baseProducers`: the projects that produce the Dockerfile's FROM images (see `baseImageTasks`). */
export function inferDockerImageProject(dockerfile: string, baseProducers: string[] = []): ProjectConfiguration {
  const root = dirname(dockerfile);
  const name = projectName(root);
  return {
    root,
    name,
    projectType: 'application',
    tags: ['docker-image'],
    implicitDependencies: [PLUGIN],
    metadata: { pharos: { imageTags: [dockerImageTag(name)] } } as ProjectConfiguration['metadata'],
    targets: {
      image: {
        executor: `${PLUGIN}:docker-image`,
        options: { dockerfile, context: root, tag: dockerImageTag(name), outputPath: imageDir('{projectRoot}') },
        dependsOn: baseImageTasks(baseProducers),
        inputs: ['{projectRoot}/**/*', UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorInputs('docker-image')],
        outputs: imageOutputs(),
        cache: true,
      },
      ...(name === DEV_CONTAINER_PROJECT ? { sif: devContainerSifTarget(name) } : {}),
      // Not the SIF: the local pipeline runs everything through Docker and has no use for a 1 GB SIF of the toolchain.
      build: buildTarget(['image']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: { manifest: imageManifestPath('{projectRoot}'), checks: [] },
        dependsOn: ['image'],
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorInputs('image-test')],
        cache: true,
      },
    },
  };
}

/**
 * The dev container as a SIF, for nodes without Docker: inside a Slurm job the tools the executors run in the dev
 * container (mksquashfs, sh, …) run in this SIF (tools/apptainer-host.ts). Made by the same executor as a
 * container's SIF, from the dev container's own image, in the dev container.
 */
function devContainerSifTarget(name: string): TargetConfiguration {
  return {
    executor: `${PLUGIN}:sif`,
    options: { manifest: imageManifestPath('{projectRoot}'), outputPath: imageDir('{projectRoot}') },
    dependsOn: ['image'],
    inputs: [{ dependentTasksOutputFiles: '**/image.json' }, IMAGE_NPM_INPUTS, ...executorInputs('sif')],
    outputs: sifOutputs(name),
    cache: true,
  };
}
