import { homedir } from 'node:os';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { BYTE_SIZE_EXAMPLES, parseByteSize } from '../utils/byte-size';
import { PharosError } from '../utils/errors';

/**
 * The content-addressed store, the pure part: where it is, which products go in, and the links dist/ keeps instead of
 * them. A big product file lives once in a store outside the repository (`<store>/sha256/<2 hex>/<64 hex>`, read-only)
 * and dist/ holds a relative link to it through the workspace's anchor `.pharos/store`, so Nx caches and restores a
 * link (O(1)) instead of copying gigabytes, and every workspace of a machine shares one copy. docs/store.md.
 *
 * Neither the store's path nor the threshold is a cache input: they decide where a product's bytes live, never what
 * they are (the manifest, which consumers key on, is the same either way).
 */

export const STORE_ENV = 'PHAROS_STORE';
export const STORE_THRESHOLD_ENV = 'PHAROS_STORE_THRESHOLD';
export const DEFAULT_STORE_THRESHOLD = 8 * 1024 * 1024;

/** The workspace's link to the store, relative to the workspace root; product links go through it. */
export const STORE_ANCHOR = '.pharos/store';

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * This machine's store: PHAROS_STORE, else `pharos/store` in the user's cache folder (~/.cache/pharos/store). Not under
 * PHAROS_CACHE_DIR: a run that points that elsewhere for its downloads alone (the e2e specs do) would re-point the
 * workspace's anchor too, and every product link in dist/ would lead to an empty store.
 */
export function storeDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env[STORE_ENV]?.trim();
  if (!set) return join(env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache'), 'pharos', 'store');
  // A relative path would name another folder from every working directory, and links would point at each in turn.
  if (!isAbsolute(set)) {
    throw new PharosError(`${STORE_ENV} is "${set}", which is not an absolute path`, {
      next: `set ${STORE_ENV} to an absolute path, or unset it for the default`,
    });
  }
  return resolve(set);
}

/**
 * PHAROS_STORE_THRESHOLD: the size from which a product file goes into the store (utils/byte-size: `64M`, `512k`,
 * `1GiB`, bytes); `0` stores every product file, `off` none. Unset: 8 MiB.
 */
export function parseStoreThreshold(text: string | undefined): number | 'off' {
  const value = text?.trim() ?? '';
  if (!value) return DEFAULT_STORE_THRESHOLD;
  if (value.toLowerCase() === 'off') return 'off';
  if (/^0+$/.test(value)) return 0;
  const bytes = parseByteSize(value);
  if (bytes === undefined) {
    throw new PharosError(`${STORE_THRESHOLD_ENV} is "${value}", which is not a size`, {
      next: `set it to ${BYTE_SIZE_EXAMPLES}, to 0 to store every product file, or to off to store none`,
    });
  }
  return bytes;
}

/**
 * What a job on another node needs to store products as this side does: the store (where the workspace's links lead,
 * so it must be on a path the nodes share) and the threshold where one is set. Exported by the job's script, as a
 * site's sbatch may not pass the environment on (SBATCH_EXPORT=NONE).
 */
export function storeSettings(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const threshold = env[STORE_THRESHOLD_ENV]?.trim();
  return { [STORE_ENV]: storeDir(env), ...(threshold ? { [STORE_THRESHOLD_ENV]: threshold } : {}) };
}

export function storeThreshold(env: NodeJS.ProcessEnv = process.env): number | 'off' {
  return parseStoreThreshold(env[STORE_THRESHOLD_ENV]);
}

/** Whether a product file of `bytes` goes into the store. */
export function belongsInStore(bytes: number, threshold: number | 'off'): boolean {
  return threshold !== 'off' && bytes >= threshold;
}

export function isSha256(hex: string): boolean {
  return HEX64.test(hex);
}

/** A blob's place inside the store: `sha256/<first 2 hex>/<64 hex>`. */
export function blobInStore(sha256: string): string {
  if (!isSha256(sha256)) throw new Error(`"${sha256}" is not a sha256 digest (64 lower-case hex digits)`);
  return posix.join('sha256', sha256.slice(0, 2), sha256);
}

export function blobPath(store: string, sha256: string): string {
  return join(store, blobInStore(sha256));
}

export function anchorPath(workspaceRoot: string): string {
  return join(workspaceRoot, STORE_ANCHOR);
}

/** The workspace root an anchor (`<root>/.pharos/store`) belongs to. */
export function workspaceOfAnchor(anchor: string): string {
  return resolve(anchor, ...STORE_ANCHOR.split('/').map(() => '..'));
}

/**
 * The text of the link at `linkPath` (a product file under the workspace) to the blob `sha256`: relative, through the
 * anchor, e.g. `../../../.pharos/store/sha256/ab/ab…` from `dist/x/y/`. Relative, so a link that Nx restores on
 * another machine, or in another clone, goes through that workspace's own anchor to that machine's store.
 */
export function blobLinkText(linkPath: string, workspaceRoot: string, sha256: string): string {
  return relative(dirname(resolve(linkPath)), join(anchorPath(resolve(workspaceRoot)), blobInStore(sha256)));
}

/**
 * What a link's text says, when it is a product link (blobLinkText's form): the anchor it goes through and the
 * digest of its blob. Any other link: undefined.
 */
export function parseBlobLink(linkPath: string, linkText: string): { anchor: string; sha256: string } | undefined {
  const m = /^((?:\.\.\/)*)\.pharos\/store\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(linkText);
  if (!m || m[3].slice(0, 2) !== m[2]) return undefined;
  return { anchor: resolve(dirname(resolve(linkPath)), m[1], STORE_ANCHOR), sha256: m[3] };
}

/**
 * Where a container that mounts a product folder at a short path of its own (`/debs`, `/tarball`) must see the store:
 * the folder's links climb more levels than the mount point is deep (`..` at `/` stays at `/`), so they land on
 * `/.pharos/store/sha256/…`. Holds for every product: each is at least two levels under the workspace (dist/<root>/).
 */
export const STORE_IN_SHALLOW_MOUNTS = `/${STORE_ANCHOR}`;

export interface ExportArgs {
  product: string;
  dest: string;
  force: boolean;
}

export const EXPORT_USAGE = `usage: pharos export [--force] <product file> <destination>

Writes a plain copy of a product file (a link into the store is followed) to <destination>, or into it when it is a
folder. An existing file is kept unless --force is given.`;

/** `pharos export`'s arguments; undefined for --help. */
export function parseExportArgs(argv: string[]): ExportArgs | undefined {
  const positional: string[] = [];
  let force = false;
  for (const a of argv) {
    if (a === '-h' || a === '--help') return undefined;
    if (a === '--force' || a === '-f') force = true;
    else if (a.startsWith('-') && a !== '-') throw new PharosError(`unknown option ${a}`, { step: 'pharos export', next: EXPORT_USAGE });
    else positional.push(a);
  }
  if (positional.length !== 2) throw new PharosError(`export takes a product file and a destination`, { step: 'pharos export', next: EXPORT_USAGE });
  return { product: positional[0], dest: positional[1], force };
}
