import type { Dirent } from 'node:fs';
import { existsSync, linkSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { temporarySibling } from '../utils/atomic-file';
import { formatBytes } from '../utils/byte-size';
import { PharosError } from '../utils/errors';
import { treeOwner, workspaceId } from '../utils/leftovers';
import { pidIsAlive } from '../utils/pid';
import { acquireLock, lockPathOf, type HeldLock } from '../utils/product-lock';
import { anchorPath, blobPath, isSha256, parseBlobLink, STORE_ANCHOR, storeDir } from './store';
import { countOf, formatAge, planStoreGc, STORE_GC_LOCK, STORE_WORKSPACES, storeGcSummary, workspaceLine, type StoredBlob } from './store-gc';

/**
 * `pharos store-gc` on disk (products/store-gc.ts is the pure part): the digests every registered workspace still
 * links to, from dist/ and its Nx cache, the blobs of the store, and their removal. A blob is removed only when no
 * workspace links to it and it was put in or reused before the cut-off; a build that reuses it while the GC runs
 * keeps it (removeUnlessReused).
 */

export interface StoreGcOptions {
  dryRun: boolean;
  keepNewerMs: number;
  env?: NodeJS.ProcessEnv;
  /** One line of output, without its newline. */
  log?: (line: string) => void;
  /** Whether a temporary file's owner still runs; default: the pid is alive on this node. */
  isAlive?: (pid: number) => boolean;
}

export interface StoreGcResult {
  store: string;
  workspaces: { root: string; linked: number }[];
  unregistered: { root: string; why: string }[];
  removed: StoredBlob[];
  kept: StoredBlob[];
  /** Temporary files and folders of ended runs, removed (or, with dryRun, to remove). */
  temporaries: string[];
}

/** The roots registered with `store`, each with its record, in the order of their paths. */
function registeredWorkspaces(store: string): { record: string; root: string }[] {
  const dir = join(store, STORE_WORKSPACES);
  const names = existsSync(dir) ? readdirSync(dir) : [];
  return names
    .filter((name) => /^[0-9a-f]{12}$/.test(name))
    .map((name) => {
      const record = join(dir, name);
      try {
        return { record, root: readFileSync(record, 'utf8').trim() };
      } catch {
        return { record, root: '' };
      }
    })
    .sort((x, y) => (x.root < y.root ? -1 : x.root > y.root ? 1 : 0));
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? '';

/**
 * Why a registered root no longer uses `storeReal` (the store's real path); undefined when it does. Throws when it
 * cannot tell (a folder this user may not look in): the workspace stays registered.
 */
function whyNotUsing(root: string, record: string, storeReal: string): string | undefined {
  if (!isAbsolute(root) || workspaceId(root) !== basename(record)) return 'its record is not one Pharos wrote';
  const anchor = anchorPath(root);
  let target: string;
  try {
    if (!statSync(root).isDirectory()) return 'its folder is gone';
    target = readlinkSync(anchor);
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes(codeOf(err))) return existsSync(root) ? `it has no store anchor (${STORE_ANCHOR})` : 'its folder is gone';
    if (codeOf(err) === 'EINVAL') return `its store anchor (${STORE_ANCHOR}) is not a link`;
    throw err;
  }
  let reached: string | undefined;
  try {
    reached = realpathSync(anchor);
  } catch {
    reached = undefined; // a store that is gone is another store
  }
  return reached === storeReal ? undefined : `its anchor leads to another store (${target})`;
}

/** The Nx cache folders of a workspace: `.nx/cache`, and nx.json's cacheDirectory when set. */
async function nxCacheDirs(root: string): Promise<string[]> {
  const dirs = [join(root, '.nx', 'cache')];
  try {
    // Nx reads nx.json as JSON with comments; so does this.
    const { parseJson } = await import('@nx/devkit');
    const set = (parseJson(readFileSync(join(root, 'nx.json'), 'utf8')) as { cacheDirectory?: unknown }).cacheDirectory;
    if (typeof set === 'string' && set.trim()) dirs.push(resolve(root, set.trim()));
  } catch {
    // No nx.json, or none Nx itself could read: the default folder.
  }
  return [...new Set(dirs)];
}

/**
 * Adds to `into` the digest of every product link under `dir`. Linked folders are not followed (the anchor itself is
 * one, and so is anything else that leads out of the workspace); node_modules holds no product. A folder that cannot
 * be read goes to `unreadable`.
 */
function collectLinkedDigests(dir: string, into: Set<string>, unreadable: string[]): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (!['ENOENT', 'ENOTDIR'].includes(codeOf(err))) unreadable.push(dir);
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isSymbolicLink()) {
      let text: string;
      try {
        text = readlinkSync(path);
      } catch {
        continue;
      }
      const linked = parseBlobLink(path, text);
      if (linked) into.add(linked.sha256);
    } else if (e.isDirectory() && e.name !== 'node_modules') collectLinkedDigests(path, into, unreadable);
  }
}

/** The blobs in the store, and the temporary files in it whose owner (a pid of this node) has ended. */
function listStore(store: string, isAlive: (pid: number) => boolean): { blobs: StoredBlob[]; temporaries: string[] } {
  const blobs: StoredBlob[] = [];
  const temporaries: string[] = [];
  const ended = (name: string) => {
    const owner = treeOwner(name);
    return owner !== undefined && owner !== process.pid && !isAlive(owner);
  };
  const sha256 = join(store, 'sha256');
  const prefixes = existsSync(sha256) ? readdirSync(sha256).filter((p) => /^[0-9a-f]{2}$/.test(p)) : [];
  for (const prefix of prefixes) {
    const dir = join(sha256, prefix);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (ended(name)) temporaries.push(path);
      else if (isSha256(name) && name.startsWith(prefix)) {
        const st = lstatSync(path, { throwIfNoEntry: false });
        if (st?.isFile()) blobs.push({ sha256: name, bytes: st.size, mtimeMs: st.mtimeMs });
      }
    }
  }
  const records = join(store, STORE_WORKSPACES);
  if (existsSync(records))
    temporaries.push(
      ...readdirSync(records)
        .filter(ended)
        .map((n) => join(records, n)),
    );
  return { blobs, temporaries };
}

/**
 * Removes a blob unless a build reused it since it was listed. It is renamed aside first: a putBlob that comes later
 * finds it gone and puts its own copy in (markUsed answers false); one that came before has set its time, which the
 * check on the moved file sees, and the blob is put back. Returns whether it was removed.
 */
export function removeUnlessReused(blob: string, cutoffMs: number): boolean {
  const aside = temporarySibling(blob);
  try {
    renameSync(blob, aside);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return true;
    throw err;
  }
  if (statSync(aside).mtimeMs > cutoffMs) {
    try {
      linkSync(aside, blob);
    } catch {
      // EEXIST: the build that reused it has put its own copy in already.
    }
    unlinkSync(aside);
    return false;
  }
  unlinkSync(aside);
  return true;
}

/** Two store-gc runs at once could each judge a blob the other is moving aside; the second refuses. */
async function lockStore(store: string, log: (line: string) => void, env: NodeJS.ProcessEnv): Promise<HeldLock> {
  const step = 'pharos store-gc';
  try {
    return await acquireLock(lockPathOf(join(store, STORE_GC_LOCK)), { type: 'store-gc', noWait: true, step, env, log: (t) => log(t.trimEnd()) });
  } catch (err) {
    // noWait's message speaks of an Nx option; say what to do here.
    if (!(err instanceof PharosError) || !err.message.startsWith('another run holds')) throw err;
    throw new PharosError(err.message, {
      step,
      next: 'another store-gc is removing blobs from this store: let it finish, then run again if you need more space',
    });
  }
}

function treeBytes(path: string): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return st?.size ?? 0;
  return readdirSync(path).reduce((sum, name) => sum + treeBytes(join(path, name)), 0);
}

interface Scan {
  /** Every digest some workspace links to, and which each links to. */
  referenced: Set<string>;
  linkedBy: Map<string, Set<string>>;
  unregistered: { root: string; why: string }[];
  unreadable: string[];
}

/** Looks in every workspace registered with the store; unregisters (unless `dryRun`) those that no longer use it. */
async function scanWorkspaces(store: string, dryRun: boolean): Promise<Scan> {
  const storeReal = realpathSync(store);
  const scan: Scan = { referenced: new Set(), linkedBy: new Map(), unregistered: [], unreadable: [] };
  for (const { record, root } of registeredWorkspaces(store)) {
    let why: string | undefined;
    try {
      why = whyNotUsing(root, record, storeReal);
    } catch {
      scan.unreadable.push(root);
      continue;
    }
    if (why) {
      if (!dryRun) rmSync(record, { force: true });
      scan.unregistered.push({ root: root || record, why });
      continue;
    }
    const linked = new Set<string>();
    for (const dir of [join(root, 'dist'), ...(await nxCacheDirs(root))]) collectLinkedDigests(dir, linked, scan.unreadable);
    scan.linkedBy.set(root, linked);
    for (const d of linked) scan.referenced.add(d);
  }
  return scan;
}

/** Removes each of `paths` (what failed goes to `failures`); answers the bytes they held. */
function removeEach(paths: string[], dryRun: boolean, failures: string[]): number {
  let bytes = 0;
  for (const path of paths) {
    bytes += treeBytes(path);
    try {
      if (!dryRun) rmSync(path, { recursive: true, force: true });
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message}`);
    }
  }
  return bytes;
}

/**
 * `pharos store-gc`: looks in every workspace registered with this machine's store (unregistering those that no longer
 * use it), then removes the blobs none links to that are older than `keepNewerMs`, and the temporary files of ended
 * runs. Prints one line per workspace, per workspace unregistered, and a summary.
 */
export async function collectStoreGarbage(options: StoreGcOptions): Promise<StoreGcResult> {
  const { dryRun } = options;
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const store = storeDir(env);
  const result: StoreGcResult = { store, workspaces: [], unregistered: [], removed: [], kept: [], temporaries: [] };
  if (!existsSync(store)) {
    log(`pharos: store-gc: there is no store at ${store}: nothing to do`);
    return result;
  }
  const lock = dryRun ? undefined : await lockStore(store, log, env);
  try {
    const scan = await scanWorkspaces(store, dryRun);
    result.unregistered = scan.unregistered;
    // Listed after the walks: a blob a build reuses meanwhile has its new time here (and removeUnlessReused checks again).
    const { blobs, temporaries } = listStore(store, options.isAlive ?? pidIsAlive);
    const present = new Set(blobs.map((b) => b.sha256));
    result.workspaces = [...scan.linkedBy].map(([root, linked]) => ({ root, linked: [...linked].filter((d) => present.has(d)).length }));
    const cutoffMs = Date.now() - options.keepNewerMs;
    const plan = planStoreGc(blobs, scan.referenced, cutoffMs);
    result.kept.push(...plan.keep);
    const failures: string[] = [];
    for (const blob of plan.remove) {
      const path = blobPath(store, blob.sha256);
      try {
        (dryRun || removeUnlessReused(path, cutoffMs) ? result.removed : result.kept).push(blob);
      } catch (err) {
        result.kept.push(blob);
        failures.push(`${path}: ${(err as Error).message}`);
      }
    }
    const temporaryBytes = removeEach(temporaries, dryRun, failures);
    result.temporaries = temporaries;

    const would = (done: string, planned: string) => (dryRun ? planned : done);
    for (const w of result.workspaces) log(workspaceLine(w.root, w.linked));
    for (const u of result.unregistered) log(`pharos: store-gc: ${would('unregistered', 'would unregister')} ${u.root}: ${u.why}`);
    for (const dir of scan.unreadable) log(`pharos: store-gc: warning: could not read ${dir}; a blob only it links to counts as unlinked`);
    if (plan.keptAsRecent) {
      log(`pharos: store-gc: kept ${countOf(plan.keptAsRecent, 'unlinked blob')} put in or reused within ${formatAge(options.keepNewerMs)} (--keep-newer)`);
    }
    if (temporaries.length) {
      log(
        `pharos: store-gc: ${would('removed', 'would remove')} ${countOf(temporaries.length, 'temporary file')} of ended runs (${formatBytes(temporaryBytes)})`,
      );
    }
    if (failures.length) log(`pharos: store-gc: warning: could not remove ${countOf(failures.length, 'file')}, kept; the first: ${failures[0]}`);
    log(storeGcSummary(result, store, dryRun));
    return result;
  } finally {
    await lock?.release();
  }
}
