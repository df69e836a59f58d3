import type { ProjectConfiguration } from '@nx/devkit';
import { dirname } from 'node:path';
import type { BaseImageDefinition } from '../definitions/base-image';
import { imageDir, imageManifestPath } from '../products/image';
import {
  buildTarget,
  DEBIAN_MIRROR_INPUT,
  DEFINITION_NPM_INPUTS,
  executorInputs,
  IMAGE_NPM_INPUTS,
  imageOutputs,
  PLUGIN,
  projectName,
  UPSTREAM_IMAGE_MANIFESTS,
} from './target-inputs';

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
        options: { definition: definitionFile, outputPath: imageDir('{projectRoot}') },
        inputs: [
          '{projectRoot}/base-image.yaml',
          DEBIAN_MIRROR_INPUT,
          { env: 'PHAROS_BASE_IMAGE_SOURCE' },
          DEFINITION_NPM_INPUTS,
          ...executorInputs('base-image'),
        ],
        outputs: imageOutputs(),
        cache: true,
      },
      build: buildTarget(['image']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: {
          manifest: imageManifestPath('{projectRoot}'),
          checks: [{ name: 'os-release names the suite', command: '. /etc/os-release && echo "$VERSION_CODENAME"', expectOutput: def.suite }],
        },
        dependsOn: ['image'],
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorInputs('image-test')],
        cache: true,
      },
    },
  };
}
