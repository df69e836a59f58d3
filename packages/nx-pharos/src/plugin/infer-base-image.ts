import type { ProjectConfiguration } from '@nx/devkit';
import { dirname } from 'node:path';
import type { BaseImageDefinition } from '../definitions/base-image';
import { buildTarget, DEBIAN_MIRROR_INPUT, DEFINITION_NPM_INPUTS, executorSourceInputs, IMAGE_NPM_INPUTS, imageOutputs, PLUGIN, PLUGIN_SRC, projectName, UPSTREAM_IMAGE_MANIFESTS } from './target-inputs';

export function inferBaseImageProject(definitionFile: string, def: BaseImageDefinition): ProjectConfiguration {
  const root = dirname(definitionFile);
  return {
    root,
    name: projectName(root),
    projectType: 'application',
    tags: ['base-image', `suite:${def.suite}`],
    // The plugin's executors shape this project's products (they are in its cache keys); `nx affected` only sees
    // project edges, so say it.
    implicitDependencies: [PLUGIN],
    metadata: { pharos: { imageTags: [def.tag] } } as ProjectConfiguration['metadata'],
    targets: {
      image: {
        executor: `${PLUGIN}:base-image`,
        options: { definition: definitionFile, outputPath: 'dist/{projectRoot}' },
        inputs: [
          '{projectRoot}/base-image.yaml',
          DEBIAN_MIRROR_INPUT,
          { env: 'PHAROS_BASE_IMAGE_SOURCE' },
          DEFINITION_NPM_INPUTS,
          ...executorSourceInputs('base-image', ['debootstrap', 'image-store']),
        ],
        outputs: imageOutputs(),
        cache: true,
      },
      build: buildTarget(['image']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: {
          manifest: 'dist/{projectRoot}/image.json',
          checks: [{ name: 'os-release names the suite', command: '. /etc/os-release && echo "$VERSION_CODENAME"', expectOutput: def.suite }],
        },
        dependsOn: ['image'],
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('image-test', ['image-store']), `${PLUGIN_SRC}/definitions/image-check.ts`],
        cache: true,
      },
    },
  };
}
