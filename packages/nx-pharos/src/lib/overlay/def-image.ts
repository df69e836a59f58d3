import type { ExecutorContext } from '@nx/devkit';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { parseApptainerDefinition, type ApptainerDefinition } from '../../definitions/apptainer-definition';
import type { SquashfsCompression } from '../../definitions/container';
import { parseOverlayPath, type OverlayPath } from '../../definitions/overlay-path';
import { DEV_CONTAINER_PROJECT } from '../../products/image';
import { overlayDir } from '../../products/overlay';
import { sifProductPaths, type SifFiles } from '../../products/sif';
import { PharosError } from '../../utils/errors';
import { taskLabel, workspacePath, type ProductLockOptions } from '../../utils/executor';
import { readOverlayChecks, readText, shownPath, type OverlayChecks } from './normalize-options';

/**
 * The options of the `.def` image executors (`def-sif`, `def-test`), resolved once: the definition read and parsed,
 * the product `dist/containers/overlays/<name>/<version>.sif` (+ `.sif.json`), and the container SIF its `From:`
 * names, with the task that makes it. Inference passes workspace-relative paths.
 */

export interface DefImageOptions extends ProductLockOptions {
  /** `containers/overlays/<name>/<version>.def`. */
  definition: string;
  /** The container project whose SIF `From:` names, and its `<name>.sif.json`. */
  base: { project: string; manifest: string };
  /** `<version>.test.yaml` (`def-test` only); a missing file means none. */
  checks?: string;
  compression?: SquashfsCompression;
  compressionLevel?: number;
  devContainer?: string;
}

export interface NormalizedDefImageOptions {
  workspaceRoot: string;
  project: string;
  /** `project:target`, the step errors name. */
  label: string;
  path: OverlayPath;
  definitionFile: string;
  shownDefinition: string;
  definition: ApptainerDefinition;
  /** sha256 of the definition as read, the digest its manifest records. */
  definitionSha256: string;
  products: SifFiles;
  base: { project: string; manifest: string; producer: string };
  compression?: SquashfsCompression;
  compressionLevel?: number;
  devContainer: string;
  checks?: OverlayChecks;
}

export function normalizeDefImageOptions(options: DefImageOptions, context: ExecutorContext): NormalizedDefImageOptions {
  const workspaceRoot = context.root;
  const definitionFile = workspacePath(options.definition, context);
  const shownDefinition = relative(workspaceRoot, definitionFile);
  const path = parseOverlayPath(shownDefinition);
  const text = readText(definitionFile, shownDefinition, 'the definition file', 'restore it, or run the graph again (npx nx reset)');
  return {
    workspaceRoot,
    project: context.projectName as string,
    label: taskLabel(context),
    path,
    definitionFile,
    shownDefinition,
    definition: parseApptainerDefinition(text, shownDefinition),
    definitionSha256: createHash('sha256').update(text).digest('hex'),
    products: sifProductPaths(join(workspaceRoot, overlayDir(path.name)), path.version),
    base: { project: options.base.project, manifest: workspacePath(options.base.manifest, context), producer: `${options.base.project}:sif` },
    compression: options.compression,
    compressionLevel: options.compressionLevel,
    devContainer: options.devContainer ?? DEV_CONTAINER_PROJECT,
    checks: readOverlayChecks(options.checks, context),
  };
}

/**
 * The SIF `From:` names must be the base the graph built: inference resolved one from the other, so a difference
 * means the definition changed after the graph was computed.
 */
export function assertFromIsBase(o: NormalizedDefImageOptions, baseSif: string): void {
  const from = o.definition.from;
  if (from && join(o.workspaceRoot, from.value) === baseSif) return;
  throw new PharosError(`From: names ${from?.value ?? 'nothing'}, and the task was given ${o.base.project}'s SIF, ${shownPath(o, baseSif)}`, {
    file: o.shownDefinition,
    line: from?.line ?? o.definition.bootstrap.line,
    next: 'the definition changed after Nx computed the graph: run again (npx nx reset if it persists)',
  });
}
