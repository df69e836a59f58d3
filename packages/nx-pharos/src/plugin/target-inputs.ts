import type { TargetConfiguration } from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PHAROS_PLUGIN } from '../definitions/plugin-options';
import { imageDir, imageProductPaths } from '../products/image';
import { asOutput } from '../products/paths';
import { moduleClosure, scriptsBeside } from './source-closure';

/** One entry of a target's `inputs` (Nx does not export the name). */
type InputDefinition = Exclude<NonNullable<TargetConfiguration['inputs']>[number], string>;

export const PLUGIN = PHAROS_PLUGIN;

/** Files of the plugin that shape an executor's product; changing them must rebuild what it made. */
export const PLUGIN_SRC = '{workspaceRoot}/packages/nx-pharos/src';

const SRC_DIR = join(__dirname, '..');
const closures = new Map<string, string[]>();
// Kept as long as the closures made of them: the executors share most of their modules, and reading each file once
// instead of once per executor (and per import of it) is most of what inferring the workspace costs.
const sources = new Map<string, string | undefined>();

function readSource(path: string): string | undefined {
  if (!sources.has(path)) {
    const full = join(SRC_DIR, path);
    sources.set(path, existsSync(full) ? readFileSync(full, 'utf8') : undefined);
  }
  return sources.get(path);
}

/**
 * The plugin source that shapes a module's work, derived from its real imports, so a new import can never leave a
 * cache key incomplete: every module it imports (transitively), and the shell scripts each of them runs (named beside
 * it as `join(__dirname, '<name>.sh')`). `module` is relative to src/, e.g. `executors/deb/executor.ts`.
 */
export function sourceInputs(module: string): string[] {
  let files = closures.get(module);
  if (!files) {
    const modules = moduleClosure(module, readSource);
    const scripts = modules.flatMap((m) => scriptsBeside(readSource(m) as string).map((script) => join(dirname(m), script)));
    const missing = scripts.find((script) => readSource(script) === undefined);
    if (missing) throw new Error(`${missing}: no such script (named by the plugin's own source)`);
    files = [...modules, ...new Set(scripts)];
    closures.set(module, files);
  }
  return files.map((f) => `${PLUGIN_SRC}/${f}`);
}

/** An executor's inputs from the plugin: its schema (defaults shape the product) and the source it runs. */
export function executorInputs(executor: string): string[] {
  return [`${PLUGIN_SRC}/executors/${executor}/schema.json`, ...sourceInputs(`executors/${executor}/executor.ts`)];
}

export function imageOutputs(): string[] {
  const { archive, manifest } = imageProductPaths(imageDir('{projectRoot}'));
  return [asOutput(archive), asOutput(manifest)];
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
