import { posix } from 'node:path';
import { expandEnvValue, type EnvVar, type OverlayType } from '../definitions/build-script';
import { OVERLAYS_ROOT } from '../definitions/overlay-path';
import { shellQuote } from '../utils/shell';
import { readManifest, writeManifest } from './manifest';
import { productDir } from './paths';
import { assertBlobPresent, assertProductDigest } from './store-files';

/**
 * An overlay's product, `dist/containers/overlays/<name>/`: `<version>.sqf` (the SquashFS image, mounted with
 * `apptainer --overlay`), `<version>.env` (its #ENV lines, `$app_root` expanded) and `<version>.sqf.json`, written
 * last: what it was built from, each input by digest, so the next overlay's key and its checks hold exactly these.
 */

/** Where every overlay is installed and mounted, as in condatainer: `/cnt/<name>/<version>`. */
export const OVERLAY_MOUNT_ROOT = '/cnt';

export function appRoot(name: string, version: string): string {
  return posix.join(OVERLAY_MOUNT_ROOT, name, version);
}

/** Inside the overlay: the build script, for provenance (`<app root>/.pharos/build-script.sh`). */
export const EMBEDDED_SCRIPT = '.pharos/build-script.sh';

export interface OverlayFiles {
  sqf: string;
  env: string;
  manifest: string;
}

export function overlayFileNames(version: string): OverlayFiles {
  return { sqf: `${version}.sqf`, env: `${version}.env`, manifest: `${version}.sqf.json` };
}

/** `dist/containers/overlays/<name>`, workspace-relative. */
export function overlayDir(name: string): string {
  return productDir(OVERLAYS_ROOT, name);
}

/** The product's files under `dir` (workspace-relative from inference, absolute from an executor). */
export function overlayProductPaths(dir: string, version: string): OverlayFiles {
  const names = overlayFileNames(version);
  return { sqf: posix.join(dir, names.sqf), env: posix.join(dir, names.env), manifest: posix.join(dir, names.manifest) };
}

export function overlayManifestPath(name: string, version: string): string {
  return overlayProductPaths(overlayDir(name), version).manifest;
}

export interface OverlayManifest {
  schema: 1;
  project: string;
  /** `name/version`, as a #DEP names it. */
  overlay: string;
  type: OverlayType;
  /** File names, relative to the manifest. */
  sqf: string;
  env: string;
  sha256: string;
  bytes: number;
  /** The build script (also inside the overlay, at EMBEDDED_SCRIPT). */
  script: { file: string; sha256: string };
  sources: Array<{ file: string; sha256: string }>;
  /** The SIF it was built on, which is the one it must be used with. */
  base: { project: string; sif: string; sha256: string };
  /** Every overlay mounted during the build, in mount order (dependencies first). */
  deps: Array<{ overlay: string; project: string; sha256: string }>;
  /** true when install() ran with the network (`#NETWORK:yes`): not reproducible from the pinned sources alone. */
  network?: boolean;
  /**
   * The answers install() read on its stdin (#INTERACTIVE:): the file (`$PHAROS_ANSWERS_DIR/…` when outside the tree)
   * and its sha256, never the answers, which may be secrets.
   */
  answers?: { file: string; sha256: string };
  mksquashfsArgs: string[];
  apptainerVersion: string;
}

export function readOverlayManifest(file: string, workspaceRoot: string, producer: string): OverlayManifest {
  return readManifest<OverlayManifest>(file, workspaceRoot, { what: 'overlay', required: ['sqf', 'env', 'sha256', 'overlay'] }, producer);
}

export const writeOverlayManifest: (file: string, manifest: OverlayManifest) => Promise<void> = writeManifest;

const rebuildOverlay = (manifest: OverlayManifest) => `npx nx run ${manifest.project}:overlay --skip-nx-cache`;

export async function assertOverlayMatches(sqf: string, manifest: OverlayManifest, shown: string): Promise<void> {
  await assertProductDigest(sqf, manifest, { what: 'the overlay', shown, rebuild: rebuildOverlay(manifest) });
}

/** The `.sqf`'s blob is here, when it is a link into the store: checked before it is locked, which needs the file. */
export async function assertOverlayBlob(sqf: string, manifest: OverlayManifest, shown: string): Promise<void> {
  await assertBlobPresent(sqf, manifest, { shown, rebuild: rebuildOverlay(manifest) });
}

/**
 * `<version>.env`: one `KEY=value` line per #ENV, its note above it as a comment. Values are single-quoted for
 * `apptainer --env-file` (a shell-syntax file), so a value is taken as written, `$app_root` already expanded.
 */
export function envFileText(env: readonly EnvVar[], root: string): string {
  return env.map((e) => `${e.note ? `# ${e.note}\n` : ''}${e.key}=${shellQuote(expandEnvValue(e.value, root))}\n`).join('');
}
