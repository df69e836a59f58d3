import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import {
  parseContainerDefinition,
  RUNTIMES,
  type ContainerArtifact,
  type ContainerCheck,
  type Runtime,
  type SquashfsCompression,
} from '../../definitions/container';
import { DEV_CONTAINER_PROJECT, imageDir, imageManifestPath, imageProductPaths } from '../../products/image';
import { sifProductPaths, type SifFiles } from '../../products/sif';
import { PharosError } from '../../utils/errors';
import { taskLabel, workspacePath, type ProductLockOptions } from '../../utils/executor';

/**
 * The options of the image family's executors, resolved once: each value has one name and one default here, so no
 * executor re-derives a path, a product name or a default of its own. Paths are absolute; `shown*` are the same paths
 * as messages print them (workspace-relative).
 */

/** What every task of the family knows about itself. */
export interface ImageTask {
  workspaceRoot: string;
  project: string;
  /** `project:target`, the step errors name. */
  label: string;
}

function imageTask(context: ExecutorContext): ImageTask {
  return { workspaceRoot: context.root, project: context.projectName as string, label: taskLabel(context) };
}

/** A workspace path as messages show it. */
export function shownPath(task: ImageTask, path: string): string {
  return relative(task.workspaceRoot, path);
}

const defaultOutputDir = imageDir('{projectRoot}');
const defaultImageManifest = imageManifestPath('{projectRoot}');

export interface BaseImageExecutorOptions extends ProductLockOptions {
  definition: string;
  outputPath?: string;
  source?: 'auto' | 'pull' | 'debootstrap';
}

export const BASE_IMAGE_SOURCES = ['auto', 'pull', 'debootstrap'] as const;
export type BaseImageSource = (typeof BASE_IMAGE_SOURCES)[number];
/** Overrides the `source` option, so a site without a registry can say so once for every base image. */
export const BASE_IMAGE_SOURCE_ENV = 'PHAROS_BASE_IMAGE_SOURCE';

export interface NormalizedBaseImageOptions extends ImageTask {
  definitionFile: string;
  shownDefinition: string;
  source: BaseImageSource;
  outputDir: string;
  products: { archive: string; manifest: string };
}

export function normalizeBaseImageOptions(
  options: BaseImageExecutorOptions,
  context: ExecutorContext,
  env: NodeJS.ProcessEnv = process.env,
): NormalizedBaseImageOptions {
  const task = imageTask(context);
  const definitionFile = workspacePath(options.definition, context);
  const outputDir = workspacePath(options.outputPath ?? defaultOutputDir, context);
  const source = env[BASE_IMAGE_SOURCE_ENV] || options.source || 'auto';
  if (!(BASE_IMAGE_SOURCES as readonly string[]).includes(source)) {
    throw new PharosError(`${BASE_IMAGE_SOURCE_ENV}="${source}" is not one of ${BASE_IMAGE_SOURCES.join(', ')}`, { step: 'choose source' });
  }
  return {
    ...task,
    definitionFile,
    shownDefinition: shownPath(task, definitionFile),
    source: source as BaseImageSource,
    outputDir,
    products: imageProductPaths(outputDir),
  };
}

export interface DockerImageExecutorOptions extends ProductLockOptions {
  dockerfile?: string;
  context?: string;
  tag: string;
  buildArgs?: Record<string, string>;
  target?: string;
  outputPath?: string;
  /** Files other projects produce, copied into the build context (declared in container.yaml). */
  artifacts?: ContainerArtifact[];
}

export interface NormalizedDockerImageOptions extends ImageTask {
  dockerfile: string;
  shownDockerfile: string;
  contextDir: string;
  tag: string;
  buildArgs: Record<string, string>;
  target?: string;
  artifacts: ContainerArtifact[];
  outputDir: string;
  products: { archive: string; manifest: string };
}

export function normalizeDockerImageOptions(options: DockerImageExecutorOptions, context: ExecutorContext): NormalizedDockerImageOptions {
  const task = imageTask(context);
  const dockerfile = workspacePath(options.dockerfile ?? '{projectRoot}/Dockerfile', context);
  const outputDir = workspacePath(options.outputPath ?? defaultOutputDir, context);
  return {
    ...task,
    dockerfile,
    shownDockerfile: shownPath(task, dockerfile),
    contextDir: workspacePath(options.context ?? '{projectRoot}', context),
    tag: options.tag,
    buildArgs: options.buildArgs ?? {},
    target: options.target,
    artifacts: options.artifacts ?? [],
    outputDir,
    products: imageProductPaths(outputDir),
  };
}

export interface ImageTestOptions {
  manifest?: string;
  checks?: ContainerCheck[];
  /** container.yaml whose `test` section holds more checks; read when the test runs, so it is not in the build's key. */
  definition?: string;
  /** `<name>.sif.json`: also test the SIF, structurally and with every check that runs in apptainer. */
  sif?: string;
  runtimes?: Runtime[];
  devContainer?: string;
}

export interface NormalizedImageTestOptions extends ImageTask {
  imageManifest: string;
  /** The option's checks, then the definition's. */
  checks: ContainerCheck[];
  /** Where a check without its own `runtimes` runs. */
  runtimes: Runtime[];
  shownDefinition?: string;
  sifManifest?: string;
  devContainer: string;
}

export function normalizeImageTestOptions(options: ImageTestOptions, context: ExecutorContext): NormalizedImageTestOptions {
  const task = imageTask(context);
  let checks = options.checks ?? [];
  let runtimes = options.runtimes ?? (options.sif ? [...RUNTIMES] : ['docker' as const]);
  let shownDefinition: string | undefined;
  if (options.definition) {
    const file = workspacePath(options.definition, context);
    shownDefinition = shownPath(task, file);
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // No container.yaml: no declared checks, the structural ones still run.
    }
    const def = parseContainerDefinition(text, shownDefinition);
    checks = [...checks, ...def.test.checks];
    if (!options.runtimes) runtimes = def.test.runtimes;
  }
  return {
    ...task,
    imageManifest: workspacePath(options.manifest ?? defaultImageManifest, context),
    checks,
    runtimes,
    shownDefinition,
    sifManifest: options.sif ? workspacePath(options.sif, context) : undefined,
    devContainer: options.devContainer ?? DEV_CONTAINER_PROJECT,
  };
}

export interface SifExecutorOptions extends ProductLockOptions {
  manifest?: string;
  outputPath?: string;
  name?: string;
  compression?: SquashfsCompression;
  compressionLevel?: number;
  sign?: boolean;
  signingKeyFile?: string;
  /** Where `sign` was switched on, for the message when no key is given. */
  signRequiredBy?: string;
  devContainer?: string;
}

export interface NormalizedSifOptions extends ImageTask {
  /** The SIF's base name: `<name>.sif`, `<name>.sif.json`, `<name>.sif.pub.pem`. */
  name: string;
  products: SifFiles;
  imageManifest: string;
  /** As given: tools/apptainer holds the default and each compressor's levels (checked by executors/sif squashfsArgsOf). */
  compression?: SquashfsCompression;
  compressionLevel?: number;
  /** Present when the SIF is signed: the key option and where signing was switched on, for messages. */
  signing?: { keyFile?: string; requiredBy: string };
  devContainer: string;
}

export function normalizeSifOptions(options: SifExecutorOptions, context: ExecutorContext): NormalizedSifOptions {
  const task = imageTask(context);
  const name = options.name ?? task.project;
  return {
    ...task,
    name,
    products: sifProductPaths(workspacePath(options.outputPath ?? defaultOutputDir, context), name),
    imageManifest: workspacePath(options.manifest ?? defaultImageManifest, context),
    compression: options.compression,
    compressionLevel: options.compressionLevel,
    signing: options.sign ? { keyFile: options.signingKeyFile, requiredBy: options.signRequiredBy ?? `${task.label} option "sign"` } : undefined,
    devContainer: options.devContainer ?? DEV_CONTAINER_PROJECT,
  };
}

export interface DevContainerRunOptions {
  command?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  fuse?: boolean;
  dockerSocket?: boolean;
  devContainer?: string;
}

export interface NormalizedDevContainerRunOptions extends ImageTask {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  fuse: boolean;
  dockerSocket: boolean;
  devContainer: string;
}

export function normalizeDevContainerRunOptions(
  options: DevContainerRunOptions,
  context: ExecutorContext,
  hostUid = process.getuid?.() ?? 0,
): NormalizedDevContainerRunOptions {
  const task = imageTask(context);
  const argv = options.args?.length ? options.args : options.command ? ['bash', '-c', options.command] : undefined;
  if (!argv) throw new PharosError('set "command" or "args"', { step: task.label });
  return {
    ...task,
    argv,
    cwd: workspacePath(options.cwd ?? '{projectRoot}', context),
    // The command can check where it runs against the host's view (Nx turns {workspaceRoot} in options into "").
    env: { PHAROS_WORKSPACE_ROOT: task.workspaceRoot, PHAROS_HOST_UID: String(hostUid), ...options.env },
    fuse: !!options.fuse,
    dockerSocket: !!options.dockerSocket,
    devContainer: options.devContainer ?? DEV_CONTAINER_PROJECT,
  };
}
