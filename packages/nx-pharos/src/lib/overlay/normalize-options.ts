import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { parseBuildScript, type BuildScript } from '../../definitions/build-script';
import type { SquashfsCompression } from '../../definitions/container';
import { parseOverlayPath, type OverlayPath } from '../../definitions/overlay-path';
import { parseOverlayTest, type OverlayCheck } from '../../definitions/overlay-test';
import { buildCpus } from '../../definitions/scheduler-resources';
import { appRoot, overlayDir, overlayProductPaths, type OverlayFiles } from '../../products/overlay';
import { DEV_CONTAINER_PROJECT } from '../../products/image';
import { PharosError } from '../../utils/errors';
import { taskLabel, workspacePath, type ProductLockOptions } from '../../utils/executor';

/**
 * The options of the overlay executors (`overlay`, `overlay-test`), resolved once: the script parsed, every path
 * absolute, each product with the task that makes it (named in errors). Inference passes workspace-relative paths.
 */

/** An overlay mounted under this one, as inference resolved it from the #DEP graph. */
export interface OverlayDepOption {
  /** `name/version`. */
  overlay: string;
  project: string;
  /** Its `<version>.sqf.json`, workspace-relative. */
  manifest: string;
}

export interface OverlayOptions extends ProductLockOptions {
  /** `containers/overlays/<name>/<version>.sh`. */
  script: string;
  /** The container project whose SIF the overlay is built on, and its `<name>.sif.json`. */
  base: { project: string; manifest: string };
  /** Every overlay the build mounts (the #DEP closure), dependencies first. */
  deps?: OverlayDepOption[];
  /** The checks (`overlay-test` only); a missing file means none. */
  checks?: string;
  /**
   * `<version>.answers` beside the script (`overlay` only), given when the script has #INTERACTIVE: prompts and Nx
   * sees the file, so that it is in the key (lib/overlay/answers.ts).
   */
  answers?: string;
  compression?: SquashfsCompression;
  compressionLevel?: number;
  devContainer?: string;
}

export interface NormalizedOverlayDep {
  overlay: string;
  project: string;
  manifest: string;
  /** `project:overlay`, the task that makes it. */
  producer: string;
}

export interface NormalizedOverlayOptions {
  workspaceRoot: string;
  project: string;
  /** `project:target`, the step errors name. */
  label: string;
  path: OverlayPath;
  scriptFile: string;
  shownScript: string;
  scriptText: string;
  script: BuildScript;
  /** `/cnt/<name>/<version>`: install prefix, mount point, `$app_root`. */
  appRoot: string;
  /** Absolute paths of this overlay's product. */
  products: OverlayFiles;
  base: { project: string; manifest: string; producer: string };
  deps: NormalizedOverlayDep[];
  /** `$NCPUS`: the script's scheduler request, at most what this machine has. */
  ncpus: number;
  /** The in-tree answers file, absolute, when inference found it among the files Nx hashes. */
  answersInKey?: string;
  compression?: SquashfsCompression;
  compressionLevel?: number;
  devContainer: string;
  checks?: OverlayChecks;
}

export interface OverlayChecks {
  file: string;
  shown: string;
  list: OverlayCheck[];
}

export function shownPath(o: { workspaceRoot: string }, path: string): string {
  return relative(o.workspaceRoot, path) || path;
}

export function readText(file: string, shown: string, what: string, next: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new PharosError(`cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: shown, next });
  }
}

export function normalizeOverlayOptions(options: OverlayOptions, context: ExecutorContext, cpus = availableParallelism()): NormalizedOverlayOptions {
  const workspaceRoot = context.root;
  const label = taskLabel(context);
  const scriptFile = workspacePath(options.script, context);
  const shownScript = relative(workspaceRoot, scriptFile);
  const path = parseOverlayPath(shownScript);
  const scriptText = readText(scriptFile, shownScript, 'the build script', 'restore the script, or run the graph again (npx nx reset)');
  const script = parseBuildScript(scriptText, shownScript);
  const wanted = buildCpus(script.scheduler.resources);
  const products = overlayProductPaths(join(workspaceRoot, overlayDir(path.name)), path.version);
  return {
    workspaceRoot,
    project: context.projectName as string,
    label,
    path,
    scriptFile,
    shownScript,
    scriptText,
    script,
    appRoot: appRoot(path.name, path.version),
    products,
    base: { project: options.base.project, manifest: workspacePath(options.base.manifest, context), producer: `${options.base.project}:sif` },
    deps: (options.deps ?? []).map((d) => ({ ...d, manifest: workspacePath(d.manifest, context), producer: `${d.project}:overlay` })),
    ncpus: Math.max(1, Math.min(wanted ?? cpus, cpus)),
    ...(options.answers ? { answersInKey: workspacePath(options.answers, context) } : {}),
    compression: options.compression,
    compressionLevel: options.compressionLevel,
    devContainer: options.devContainer ?? DEV_CONTAINER_PROJECT,
    checks: readOverlayChecks(options.checks, context),
  };
}

/** `<version>.test.yaml`, read when the test runs; a missing file means no declared checks (the built-in ones still run). */
export function readOverlayChecks(option: string | undefined, context: ExecutorContext): OverlayChecks | undefined {
  if (!option) return undefined;
  const file = workspacePath(option, context);
  const shown = relative(context.root, file);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // No checks file: nothing declared.
  }
  return { file, shown, list: parseOverlayTest(text, shown).checks };
}
