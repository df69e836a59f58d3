import type { ProjectConfiguration } from '@nx/devkit';
import { basename, dirname } from 'node:path';
import type { ContainerDefinition } from '../definitions/container';
import { DEV_CONTAINER_PROJECT, imageDir, imageManifestPath } from '../products/image';
import { asOutput, productDir } from '../products/paths';
import { sifFileNames, sifManifestPath } from '../products/sif';
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

/** The dev container runs Apptainer for the SIF and test targets, so its image is an input of both. */
const DEV_CONTAINER_IMAGE = { projects: [DEV_CONTAINER_PROJECT], target: 'image' };

/** `containers/<name>/Dockerfile` is an application container: an image, its SIF, and tests in both runtimes. */
export function isApplicationContainer(dockerfile: string): boolean {
  return basename(dirname(dirname(dockerfile))) === 'containers';
}

export function sifOutputs(name: string): string[] {
  const files = sifFileNames(name);
  return [files.sif, files.manifest, files.publicKey].map((file) => asOutput(productDir('{projectRoot}', file)));
}

export function inferContainerProject(dockerfile: string, def: ContainerDefinition, baseProducers: string[] = []): ProjectConfiguration {
  const root = dirname(dockerfile);
  const name = projectName(root);
  const definitionFile = `${root}/container.yaml`;
  return {
    root,
    name,
    projectType: 'application',
    tags: ['container'],
    // The dev container's Apptainer makes and tests the SIF, so a new toolchain re-tests every container.
    implicitDependencies: [PLUGIN, DEV_CONTAINER_PROJECT],
    metadata: { pharos: { imageTags: [dockerImageTag(name)] } } as ProjectConfiguration['metadata'],
    targets: {
      image: {
        executor: `${PLUGIN}:docker-image`,
        options: {
          dockerfile,
          context: root,
          tag: dockerImageTag(name),
          outputPath: imageDir('{projectRoot}'),
          ...(Object.keys(def.buildArgs).length ? { buildArgs: def.buildArgs } : {}),
          ...(def.artifacts.length ? { artifacts: def.artifacts } : {}),
        },
        dependsOn: [...baseImageTasks(baseProducers), ...def.artifacts.map((a) => ({ projects: [a.project], target: a.target }))],
        inputs: [
          // container.yaml's build sections reach the key through these options; its test section must not.
          '{projectRoot}/**/*',
          '!{projectRoot}/container.yaml',
          UPSTREAM_IMAGE_MANIFESTS,
          ...def.artifacts.flatMap((a) => a.files.map((f) => ({ dependentTasksOutputFiles: f }))),
          IMAGE_NPM_INPUTS,
          ...executorInputs('docker-image'),
        ],
        outputs: imageOutputs(),
        cache: true,
      },
      sif: {
        executor: `${PLUGIN}:sif`,
        options: {
          manifest: imageManifestPath('{projectRoot}'),
          outputPath: imageDir('{projectRoot}'),
          ...(def.sif.compression ? { compression: def.sif.compression } : {}),
          ...(def.sif.compressionLevel ? { compressionLevel: def.sif.compressionLevel } : {}),
          ...(def.sif.sign ? { sign: true, signRequiredBy: `${definitionFile} sif.sign` } : {}),
        },
        dependsOn: ['image', DEV_CONTAINER_IMAGE],
        inputs: [
          { dependentTasksOutputFiles: '**/image.json' },
          // Which key signs shapes the product; the passphrase does not.
          { env: 'PHAROS_SIF_SIGNING_KEY_FILE' },
          { env: 'PHAROS_SIF_SIGNING_KEY' },
          IMAGE_NPM_INPUTS,
          ...executorInputs('sif'),
        ],
        outputs: sifOutputs(name),
        cache: true,
      },
      build: buildTarget(['image', 'sif']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: { manifest: imageManifestPath('{projectRoot}'), definition: definitionFile, sif: sifManifestPath('{projectRoot}', name) },
        dependsOn: ['image', 'sif', DEV_CONTAINER_IMAGE],
        inputs: [
          '{projectRoot}/container.yaml',
          { dependentTasksOutputFiles: '**/image.json' },
          { dependentTasksOutputFiles: '**/*.sif.json' },
          IMAGE_NPM_INPUTS,
          ...executorInputs('image-test'),
        ],
        cache: true,
      },
    },
  };
}
