import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, link, lstat, open, readlink, realpath, rename, rm, stat, symlink, utimes } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { temporarySibling, writeAtomically } from '../utils/atomic-file';
import { onInterrupt } from '../utils/cleanup';
import { assertFileDigest, sha256File } from '../utils/digest';
import { PharosError } from '../utils/errors';
import {
  anchorPath,
  belongsInStore,
  blobLinkText,
  blobPath,
  parseBlobLink,
  STORE_IN_SHALLOW_MOUNTS,
  storeDir,
  storeThreshold,
  workspaceOfAnchor,
} from './store';
import { registrationPath } from './store-gc';

/**
 * The content-addressed store, on disk (products/store.ts is the pure part): putting a product file in and leaving a
 * link, checking a link's blob before a consumer uses it, and a plain copy for people. A blob is never changed once
 * in place, and a link is replaced by rename, so a running `apptainer exec` or `docker load` keeps the file it opened.
 */

export interface StoreContext {
  workspaceRoot: string;
  /** Where PHAROS_STORE and PHAROS_STORE_THRESHOLD are read (tests); default process.env. */
  storeEnv?: NodeJS.ProcessEnv;
}

/**
 * Makes `anchor` (`<workspace>/.pharos/store`) a link to `store`, or re-points it there, atomically (a new link renamed
 * over the old): product links reach the store only through it. The workspace is registered with the store too.
 */
export function ensureAnchor(anchor: string, store: string): void {
  pointAnchor(anchor, store);
  registerWorkspace(anchor, store);
}

function pointAnchor(anchor: string, store: string): void {
  let current: string | undefined;
  try {
    current = readlinkSync(anchor);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') {
      throw new PharosError(`${anchor} is not a link, so product links cannot reach the store (${store}) through it`, {
        next: `move it away; Pharos makes it a link to the store by itself`,
      });
    }
    if (code !== 'ENOENT') throw err;
  }
  if (current === store) return;
  mkdirSync(join(anchor, '..'), { recursive: true });
  renameIntoPlace(anchor, (tmp) => symlinkSync(store, tmp));
}

/** Makes `dest` as `make` makes a temporary sibling, renamed over it: a reader finds the old one or the new, never none. */
function renameIntoPlace(dest: string, make: (tmp: string) => void): void {
  const tmp = temporarySibling(dest);
  make(tmp);
  try {
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** A store this user may not write, or none yet (no blob in it to keep): nothing to say. */
const QUIET_REGISTRATION_FAILURES = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOENT']);
/** The stores this process has warned of: one warning each, not one per product. */
const warnedOfRegistration = new Set<string>();

/**
 * Records in `store` that the workspace of `anchor` links into it (`<store>/workspaces/<workspace id>`, holding its
 * root), so `pharos store-gc` looks in its dist/ and Nx cache before it removes a blob. It runs for every product
 * stored or checked, so it costs one read, and writes (temporary file, rename) only when the record is missing or
 * names another root. It never fails the caller: a store this user may not write (a read-only bind in a container,
 * another user's shared store) is skipped silently, any other failure is one warning per store and process.
 */
export function registerWorkspace(anchor: string, store: string): void {
  // A product folder mounted at /debs or /tarball in a container reaches the store through /.pharos/store: no workspace.
  if (resolve(anchor) === STORE_IN_SHALLOW_MOUNTS) return;
  const root = workspaceOfAnchor(anchor);
  const record = registrationPath(store, root);
  try {
    if (readFileSync(record, 'utf8') === root) return;
  } catch {
    // Missing: written below.
  }
  try {
    // Registering never makes a store, even one PHAROS_STORE names by mistake (writing then fails, quietly: ENOENT).
    if (existsSync(store)) mkdirSync(dirname(record), { recursive: true });
    renameIntoPlace(record, (tmp) => writeFileSync(tmp, root));
  } catch (err) {
    if (QUIET_REGISTRATION_FAILURES.has((err as NodeJS.ErrnoException).code ?? '') || warnedOfRegistration.has(store)) return;
    warnedOfRegistration.add(store);
    process.stderr.write(
      `pharos: warning: could not register ${root} with the store ${store}, so pharos store-gc will not see its links: ${(err as Error).message}\n`,
    );
  }
}

/** This machine's store, made if missing (a Docker bind of a missing folder would create it as root). */
export function presentStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const store = storeDir(env);
  mkdirSync(store, { recursive: true });
  return store;
}

/**
 * The store to bind into a container beside the workspace, or undefined when this user cannot make it (a HOME
 * without a writable ~/.cache): a container that reads no product must still start, and one that does names the
 * missing blob itself.
 */
export function storeToMount(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const store = storeDir(env);
  try {
    mkdirSync(store, { recursive: true });
    return store;
  } catch {
    return undefined;
  }
}

/** A copy that is on disk before it is renamed into place: the blob may outlive this machine's next crash. */
async function copyDurably(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const handle = await open(to, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Puts `file`'s bytes at `blob`, read-only: a hard link when both are on one filesystem (the bytes are not moved), a
 * durable copy otherwise. A blob already there with the same size is the same content (its name is its digest), so
 * the new copy is dropped; one of another size is damaged, and is replaced.
 */
async function putBlob(file: string, blob: string, bytes: number): Promise<void> {
  const present = await stat(blob).catch(() => undefined);
  if (present?.isFile() && present.size === bytes && (await markUsed(blob))) return;
  await writeAtomically(blob, async (tmp) => {
    try {
      await link(file, tmp);
      await chmod(tmp, 0o444);
      // The product file's own time may be old (a .deb apt dated by its server): the blob is new to the store.
      await markUsed(tmp);
      return;
    } catch {
      // Another filesystem, or a file this user may link but not chmod (another owner's): a copy of our own.
      await rm(tmp, { force: true });
    }
    await copyDurably(file, tmp);
    await chmod(tmp, 0o444);
  });
}

/**
 * Sets a blob's time to now: store-gc keeps a blob put in or reused within its cut-off (default 1 hour) even when no
 * link to it is to be seen yet, the safety for a build in flight. False when the blob is gone (a store-gc removed it
 * just now): the caller puts it in again. A blob this user does not own keeps its time (EPERM).
 */
async function markUsed(blob: string): Promise<boolean> {
  const now = new Date();
  try {
    await utimes(blob, now, now);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  return true;
}

/** Replaces `file` by a link whose text is `text`, atomically: the path never goes missing. */
async function swapInLink(file: string, text: string): Promise<void> {
  const tmp = temporarySibling(file);
  const removeTmp = onInterrupt(() => rm(tmp, { force: true }));
  try {
    await symlink(text, tmp);
    await rename(tmp, file);
  } finally {
    await removeTmp();
  }
}

/**
 * Moves a finished product file into the store when it is a regular file of at least the threshold
 * (PHAROS_STORE_THRESHOLD), and leaves a relative link in its place; anything else stays as it is. `file` may be a
 * temporary sibling of the product (the link's text is relative to its folder, which the final rename keeps).
 * `sha256` is the digest the manifest records; without it the file is hashed. Returns whether it went in.
 */
export async function storeProductFile(file: string, sha256: string | undefined, ctx: StoreContext): Promise<boolean> {
  const env = ctx.storeEnv ?? process.env;
  const st = await lstat(file);
  if (!st.isFile() || !belongsInStore(st.size, storeThreshold(env))) return false;
  const digest = sha256 ?? (await sha256File(file));
  const store = presentStoreDir(env);
  ensureAnchor(anchorPath(ctx.workspaceRoot), store);
  const blob = blobPath(store, digest);
  await putBlob(file, blob, st.size);
  await swapInLink(file, blobLinkText(file, ctx.workspaceRoot, digest));
  await teamStore?.publish({ sha256: digest, bytes: st.size, path: blob, store }, env);
  return true;
}

/** A new product file's digest and size, as its manifest records them, after putting it in the store. */
export async function hashAndStore(file: string, ctx: StoreContext): Promise<{ sha256: string; bytes: number }> {
  const sha256 = await sha256File(file);
  const { size: bytes } = await stat(file);
  await storeProductFile(file, sha256, ctx);
  return { sha256, bytes };
}

/**
 * The team store (docs/store.md#the-team-store): where a blob this machine lacks is fetched from by digest, and where
 * CI publishes the blobs it stores. It lives in lib/team-store/, above this layer, so it is handed in: the executors'
 * shared entry and the CLI install it (useTeamStore); a process that installs none (a spec, a plain script) has no
 * team store, and a missing blob is the error that names the target to re-run.
 */
export interface TeamStore {
  /**
   * Puts the blob `sha256` (of `bytes`, when known) at `dest` in `store`. Answers whether it did, and when not, a
   * note for the error (`"nor does the team store …"`); throws when the attempt itself failed (a damaged or
   * interrupted transfer), naming `rebuild` as the way out.
   */
  fetch(
    blob: { sha256: string; bytes?: number; dest: string; store: string; rebuild: string },
    env: NodeJS.ProcessEnv,
  ): Promise<{ fetched: boolean; note?: string }>;
  /** Called with every blob just put in the store; publishes it where this machine publishes (CI), else does nothing. */
  publish(blob: { sha256: string; bytes: number; path: string; store: string }, env: NodeJS.ProcessEnv): Promise<void>;
  /**
   * Called with every docker image product just saved, before its image.json is written: pushes the image itself
   * from `archive` where this machine publishes, and answers its by-digest reference; elsewhere undefined.
   */
  publishImage(
    image: { project: string; tags: string[]; id: string; archiveSha256: string; archive: string },
    env: NodeJS.ProcessEnv,
  ): Promise<string | undefined>;
}

let teamStore: TeamStore | undefined;

/** Installs (or, with undefined, removes) this process's team store. */
export function useTeamStore(store: TeamStore | undefined): void {
  teamStore = store;
}

/** Asks the team store, when this process has one, for a blob this machine's store lacks. */
export async function fetchMissingBlob(
  blob: { sha256: string; bytes?: number; dest: string; store: string; rebuild: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ fetched: boolean; note?: string }> {
  return teamStore ? teamStore.fetch(blob, env) : { fetched: false };
}

/** Pushes a docker image product as an image, when this process has a team store and this machine publishes. */
export async function publishImageToTeamStore(
  image: Parameters<TeamStore['publishImage']>[0],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  return teamStore?.publishImage(image, env);
}

/** What a reader expects of a product file: the manifest's digest and size. */
export interface ExpectedFile {
  sha256?: string;
  bytes?: number;
}

/** How a reader names a product in messages: the path as shown, and the command that rebuilds it. */
export interface DescribedFile {
  shown: string;
  rebuild: string;
}

/** The blob `file` links to, when it is a product link; undefined for a plain file, another link or no file. */
async function linkedBlob(file: string): Promise<{ anchor: string; sha256: string } | undefined> {
  const st = await lstat(file).catch(() => undefined);
  if (!st?.isSymbolicLink()) return undefined;
  return parseBlobLink(file, await readlink(file));
}

/**
 * Before a consumer uses a product file that is a link into the store: its blob is there with the manifest's digest
 * and size. Through the anchor as it is, first: a workspace whose anchor already reaches a good blob is left alone, so
 * a command run with another HOME does not re-point it under everyone else. Otherwise the anchor is pointed at this
 * machine's store and the blob looked for there (and, missing, asked of the team store: fetchMissingBlob). A blob that
 * is missing (the product came from a cache filled elsewhere) or of another size is an error naming the product, the
 * blob, this machine's store and the target to re-run. A plain file, or no file, is left to the caller.
 */
export async function assertBlobPresent(file: string, expected: ExpectedFile, described: DescribedFile, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const linked = await linkedBlob(file);
  if (!linked) return;
  if (expected.sha256 !== undefined && expected.sha256 !== linked.sha256) {
    throw new PharosError(`links to blob sha256:${linked.sha256}, but its manifest says sha256 ${expected.sha256}`, {
      file: described.shown,
      next: `rebuild it: ${described.rebuild}`,
    });
  }
  const sizeOf = async (path: string) => (await stat(path).catch(() => undefined))?.size;
  const right = (s: number | undefined) => s !== undefined && (expected.bytes === undefined || s === expected.bytes);
  if (right(await sizeOf(blobPath(linked.anchor, linked.sha256)))) {
    const reached = await readlink(linked.anchor).catch(() => undefined);
    if (reached) registerWorkspace(linked.anchor, resolve(dirname(linked.anchor), reached));
    return;
  }
  const store = storeDir(env);
  ensureAnchor(linked.anchor, store);
  const blob = blobPath(store, linked.sha256);
  let size = await sizeOf(blob);
  let note: string | undefined;
  if (!right(size)) {
    const asked = await fetchMissingBlob({ sha256: linked.sha256, bytes: expected.bytes, dest: blob, store, rebuild: described.rebuild }, env);
    if (asked.fetched) size = await sizeOf(blob);
    note = asked.note;
  }
  if (right(size)) return;
  const what = size === undefined ? 'which this machine does not have' : `which this machine has with ${size} bytes, not ${expected.bytes}`;
  throw new PharosError(`links to blob sha256:${linked.sha256}, ${what} (store: ${store})${note ? `, ${note}` : ''}`, {
    file: described.shown,
    next: `rebuild it here: ${described.rebuild}`,
  });
}

/**
 * A consumer's check of a product file against its manifest: its blob first, when it is a link (assertBlobPresent),
 * then its sha256. A blob whose bytes are not its name's is damaged, and the message says to remove it: the store
 * would keep it through a rebuild, since a blob of the right size counts as present.
 */
export async function assertProductDigest(file: string, expected: { sha256: string; bytes?: number }, described: DescribedFile & { what: string }) {
  await assertBlobPresent(file, expected, described);
  try {
    await assertFileDigest(file, expected.sha256, described);
  } catch (err) {
    const linked = await linkedBlob(file);
    if (!linked || !(err instanceof PharosError)) throw err;
    const blob = await realpath(file).catch(() => blobPath(storeDir(), linked.sha256));
    throw new PharosError(`${err.message}: the blob ${blob} is damaged`, { ...err.details, next: `remove it (rm -f ${blob}), then ${described.rebuild}` });
  }
}

/**
 * `pharos export`: a plain copy of a product file at `dest` (or in it, when it is a folder), following its link into
 * the store, written through a temporary file. An existing file is kept unless `force`. Returns where it went.
 */
export async function exportProduct(product: string, dest: string, opts: { force: boolean; env?: NodeJS.ProcessEnv }): Promise<string> {
  const from = resolve(product);
  await assertBlobPresent(from, {}, { shown: product, rebuild: `npx nx run <project>:<target that makes it> --skip-nx-cache` }, opts.env);
  const source = await stat(from).catch(() => undefined);
  if (!source?.isFile())
    throw new PharosError(`there is no product file ${product}`, {
      step: 'pharos export',
      next: 'name a file under dist/, e.g. dist/tools/dev-container/image.tar',
    });
  const target = (await stat(dest).catch(() => undefined))?.isDirectory() ? join(dest, basename(from)) : resolve(dest);
  if (!opts.force && (await lstat(target).catch(() => undefined))) {
    throw new PharosError(`${target} exists`, { step: 'pharos export', next: 'choose another destination, or add --force to replace it' });
  }
  await writeAtomically(target, async (tmp) => {
    await copyFile(from, tmp);
    await chmod(tmp, 0o644);
  });
  return target;
}
