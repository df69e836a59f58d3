import type { TargetConfiguration } from '@nx/devkit';
import { basename } from 'node:path';

/** One entry of a target's `inputs` (Nx does not export the name). */
type InputDefinition = Exclude<NonNullable<TargetConfiguration['inputs']>[number], string>;

export const PLUGIN = '@pharos/nx-plugin';

/** Files of the plugin that shape an executor's product; changing them must rebuild what it made. */
export const PLUGIN_SRC = '{workspaceRoot}/packages/nx-pharos/src';

export function executorSourceInputs(executor: string, tools: string[]): string[] {
  return [
    `${PLUGIN_SRC}/executors/${executor}/executor.ts`,
    `${PLUGIN_SRC}/executors/${executor}/schema.json`,
    ...tools.map((t) => `${PLUGIN_SRC}/tools/${t}.ts`),
  ];
}

export function imageOutputs(): string[] {
  return ['{workspaceRoot}/dist/{projectRoot}/image.tar', '{workspaceRoot}/dist/{projectRoot}/image.json'];
}

/**
 * The image targets of the projects whose images a Dockerfile builds FROM. Named explicitly rather than as `^image`:
 * a container also depends on the dev container (its SIF is made there), and `^image` would put the dev container's
 * manifest into the key of every Docker image built beside it.
 */
export function baseImageTasks(producers: string[]): Array<{ projects: string[]; target: string }> {
  return producers.map((p) => ({ projects: [p], target: 'image' }));
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

export function buildTarget(dependsOn: string[]): TargetConfiguration {
  return { executor: 'nx:noop', dependsOn, cache: true };
}

export function projectName(projectRoot: string): string {
  return basename(projectRoot);
}

export function dockerImageTag(name: string): string {
  return `pharos/${name}:latest`;
}
