import { join } from 'node:path';
import { formatBytes } from '../utils/byte-size';
import { formatDuration, parseDuration } from '../utils/duration';
import { PharosError } from '../utils/errors';
import { workspaceId } from '../utils/leftovers';

/**
 * Reclaiming the store's space (`pharos store-gc`), the pure part: which blobs go, given the ones on disk and the ones
 * some workspace still links to, and the command's arguments. The store only grows otherwise: every rebuild of a
 * product leaves its old blob behind. docs/store.md#reclaiming-space-store-gc.
 */

/** The folder of the store where each workspace that uses it leaves its root: `<store>/workspaces/<workspace id>`. */
export const STORE_WORKSPACES = 'workspaces';

/** Where `store` records that the workspace at `root` links into it; the file holds the root. */
export function registrationPath(store: string, root: string): string {
  return join(store, STORE_WORKSPACES, workspaceId(root));
}

/** What `pharos store-gc` locks (`<store>/gc.lock`), so two never run at once. */
export const STORE_GC_LOCK = 'gc';

/**
 * By default a blob changed or reused in the last hour is kept even when nothing links to it: a build in flight may
 * have put it in the store and not yet left its link, or left it where no walk looks (a folder about to be renamed
 * into dist/, a workspace that registers with the store only as it ends).
 */
export const DEFAULT_KEEP_NEWER_MS = 3_600_000;

export interface StoredBlob {
  sha256: string;
  bytes: number;
  /** When it was put in the store or last reused (putBlob refreshes it). */
  mtimeMs: number;
}

export interface StoreGcPlan {
  remove: StoredBlob[];
  keep: StoredBlob[];
  /** How many of `keep` nothing links to: kept only for being newer than the cut-off. */
  keptAsRecent: number;
}

/**
 * Which blobs to remove: those no workspace links to (`referenced`) and last put or reused before `cutoffMs` (an
 * epoch time). Everything else is kept.
 */
export function planStoreGc(blobs: readonly StoredBlob[], referenced: ReadonlySet<string>, cutoffMs: number): StoreGcPlan {
  const plan: StoreGcPlan = { remove: [], keep: [], keptAsRecent: 0 };
  for (const blob of blobs) {
    if (referenced.has(blob.sha256)) plan.keep.push(blob);
    else if (blob.mtimeMs > cutoffMs) {
      plan.keep.push(blob);
      plan.keptAsRecent++;
    } else plan.remove.push(blob);
  }
  return plan;
}

export function totalBytes(blobs: readonly StoredBlob[]): number {
  return blobs.reduce((sum, b) => sum + b.bytes, 0);
}

/** `1 blob`, `3 blobs`. */
export const countOf = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The closing line: `pharos: store-gc: removed 3 blobs (2.1 GiB), kept 9 (5.0 GiB) in /home/ann/.cache/pharos/store`. */
export function storeGcSummary(result: { removed: readonly StoredBlob[]; kept: readonly StoredBlob[] }, store: string, dryRun: boolean): string {
  const removed = `${countOf(result.removed.length, 'blob')} (${formatBytes(totalBytes(result.removed))})`;
  const kept = `${result.kept.length} (${formatBytes(totalBytes(result.kept))})`;
  return dryRun ? `pharos: store-gc: would remove ${removed}, keep ${kept} in ${store}` : `pharos: store-gc: removed ${removed}, kept ${kept} in ${store}`;
}

/** `pharos: store-gc: kept 4 blobs linked from /home/ann/pharos`. */
export function workspaceLine(root: string, linkedBlobs: number): string {
  return `pharos: store-gc: kept ${countOf(linkedBlobs, 'blob')} linked from ${root}`;
}

/** `1h`, `30m`, `90s`, `2d`, `1d12h`, `0`: how long a blob stays whatever links to it. */
export function parseKeepNewer(text: string): number {
  const value = text.trim();
  if (/^0+[dhms]?$/.test(value)) return 0;
  const m = /^(?:(\d+)d)?(.*)$/.exec(value);
  const days = Number(m?.[1] ?? 0) * 86_400_000;
  const rest = m?.[2] ? parseDuration(m[2]) : 0;
  if (!value || rest === undefined || days + rest <= 0) {
    throw new PharosError(`--keep-newer "${text}" is not an age`, {
      step: 'pharos store-gc',
      next: 'give a duration such as 30m, 1h, 2d or 1d12h (d, h, m, s), or 0 to keep no blob for its age alone',
    });
  }
  return days + rest;
}

/** `1h`, `2d`, `0`: an age as the user would write it back. */
export function formatAge(ms: number): string {
  if (ms === 0) return '0';
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDuration(ms);
}

export interface StoreGcArgs {
  dryRun: boolean;
  keepNewerMs: number;
}

export const STORE_GC_USAGE = `usage: pharos store-gc [--dry-run] [--keep-newer <age>]

Removes the store's blobs that no registered workspace links to, from dist/ or its Nx cache, and that were put in
the store or reused longer ago than <age> (default 1h; e.g. 30m, 2d, 0), and the temporary files of runs that have
ended. Prints each workspace it looked in. --dry-run removes nothing and says what it would remove.
A workspace registers with the store whenever Nx runs in it or it stores or reads a product: run Nx once (npx nx
run-many -t build) in any workspace that has not since this version, or what it links to counts as unlinked.
docs/store.md#reclaiming-space-store-gc`;

/** `pharos store-gc`'s arguments; undefined for --help. */
export function parseStoreGcArgs(argv: string[]): StoreGcArgs | undefined {
  const args: StoreGcArgs = { dryRun: false, keepNewerMs: DEFAULT_KEEP_NEWER_MS };
  const usage = (message: string) => new PharosError(message, { step: 'pharos store-gc', next: STORE_GC_USAGE });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return undefined;
    if (a === '--dry-run' || a === '-n') args.dryRun = true;
    else if (a === '--keep-newer') {
      if (i + 1 >= argv.length) throw usage('--keep-newer needs an age');
      args.keepNewerMs = parseKeepNewer(argv[++i]);
    } else if (a.startsWith('--keep-newer=')) args.keepNewerMs = parseKeepNewer(a.slice('--keep-newer='.length));
    else if (a.startsWith('-')) throw usage(`unknown option ${a}`);
    else throw usage(`store-gc takes no arguments (got ${a})`);
  }
  return args;
}
