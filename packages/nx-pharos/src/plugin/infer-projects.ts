import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';

/** One entry of a target's `inputs` (Nx does not export the name). */
type InputDefinition = Exclude<NonNullable<TargetConfiguration['inputs']>[number], string>;
import { basename, dirname } from 'node:path';
import type { BaseImageDefinition } from './base-image-definition';

/**
 * Pure inference: a definition file in the tree becomes a project with `build` and `test` and the finer steps those
 * depend on. Everything here is data in, data out, so it is unit-tested without Nx or Docker.
 */

/** The plugin takes no options yet; inference follows the files in the tree. */
export type PharosPluginOptions = Record<string, never>;

export const PLUGIN = '@pharos/nx-plugin';

/** Files of the plugin that shape an executor's product; changing them must rebuild what it made. */
export function executorSourceInputs(executor: string, tools: string[]): string[] {
  const src = '{workspaceRoot}/packages/nx-pharos/src';
  return [
    `${src}/executors/${executor}/executor.ts`,
    `${src}/executors/${executor}/schema.json`,
    ...tools.map((t) => `${src}/tools/${t}.ts`),
  ];
}

export function imageOutputs(): string[] {
  return ['{workspaceRoot}/dist/{projectRoot}/image.tar', '{workspaceRoot}/dist/{projectRoot}/image.json'];
}

/** The manifests of the images a target builds on, or runs in: their IDs are the honest part of the cache key. */
export const UPSTREAM_IMAGE_MANIFESTS = { dependentTasksOutputFiles: '**/image.json', transitive: true } as const;

/**
 * The npm packages that shape image products. Without this Nx would hash every external dependency, and a test-runner
 * upgrade would rebuild a gigabyte of images.
 */
export const IMAGE_NPM_INPUTS: InputDefinition = { externalDependencies: ['dockerode'] };
export const DEFINITION_NPM_INPUTS: InputDefinition = { externalDependencies: ['dockerode', 'yaml'] };

export const DEBIAN_MIRROR_INPUT = { runtime: 'node packages/nx-pharos/bin/pharos.cjs debian-mirror' } as const;

function buildTarget(dependsOn: string[]): TargetConfiguration {
  return { executor: 'nx:noop', dependsOn, cache: true };
}

export function projectName(projectRoot: string): string {
  return basename(projectRoot);
}

export function dockerImageTag(name: string): string {
  return `pharos/${name}:latest`;
}

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
          ...executorSourceInputs('base-image', ['debootstrap', 'image-manifest']),
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
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('image-test', ['image-manifest'])],
        cache: true,
      },
    },
  };
}

export function inferDockerImageProject(dockerfile: string): ProjectConfiguration {
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
        dependsOn: ['^image'],
        inputs: ['{projectRoot}/**/*', UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('docker-image', ['image-manifest'])],
        outputs: imageOutputs(),
        cache: true,
      },
      build: buildTarget(['image']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: { manifest: 'dist/{projectRoot}/image.json', checks: [] },
        dependsOn: ['image'],
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('image-test', ['image-manifest'])],
        cache: true,
      },
    },
  };
}

/** Which project produces each image tag, from the metadata inference wrote. */
export function imageProducers(projects: Record<string, Pick<ProjectConfiguration, 'name' | 'metadata'>>): Map<string, string> {
  const producers = new Map<string, string>();
  for (const [root, p] of Object.entries(projects)) {
    const tags = (p.metadata as { pharos?: { imageTags?: string[] } } | undefined)?.pharos?.imageTags ?? [];
    for (const t of tags) producers.set(t, p.name ?? root);
  }
  return producers;
}
