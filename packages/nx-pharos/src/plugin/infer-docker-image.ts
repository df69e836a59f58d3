import type { ProjectConfiguration } from '@nx/devkit';
import { dirname } from 'node:path';
import { baseImageTasks, buildTarget, dockerImageTag, executorSourceInputs, IMAGE_NPM_INPUTS, imageOutputs, PLUGIN, PLUGIN_SRC, projectName, UPSTREAM_IMAGE_MANIFESTS } from './target-inputs';

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
        options: { dockerfile, context: root, tag: dockerImageTag(name), outputPath: 'dist/{projectRoot}' },
        dependsOn: baseImageTasks(baseProducers),
        inputs: ['{projectRoot}/**/*', UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('docker-image', ['image-store'])],
        outputs: imageOutputs(),
        cache: true,
      },
      build: buildTarget(['image']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: { manifest: 'dist/{projectRoot}/image.json', checks: [] },
        dependsOn: ['image'],
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('image-test', ['image-store']), `${PLUGIN_SRC}/definitions/image-check.ts`],
        cache: true,
      },
    },
  };
}
