import type { ProjectConfiguration } from '@nx/devkit';
import { dirname } from 'node:path';
import { imageDir, imageManifestPath } from '../products/image';
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
