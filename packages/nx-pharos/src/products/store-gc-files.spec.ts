import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { failureOf } from '../testing/failure';
import { nodeTag, workspaceId } from '../utils/leftovers';
import { anchorPath, blobLinkText, blobPath } from './store';
import { ensureAnchor } from './store-files';
import { DEFAULT_KEEP_NEWER_MS } from './store-gc';
import { collectStoreGarbage, removeUnlessReused } from './store-gc-files';

const HOUR = 3_600_000;
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const ago = (ms: number) => new Date(Date.now() - ms);

let root: string;
let store: string;
let env: NodeJS.ProcessEnv;
let lines: string[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pharos-store-gc-'));
  store = join(root, 'store');
  mkdirSync(store);
  env = { PHAROS_STORE: store };
  lines = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const gc = (opts: { dryRun?: boolean; keepNewerMs?: number; isAlive?: (pid: number) => boolean } = {}) =>
  collectStoreGarbage({ dryRun: false, keepNewerMs: DEFAULT_KEEP_NEWER_MS, env, log: (l) => lines.push(l), ...opts });

/** A blob in `inStore` of `data`, read-only as putBlob leaves it, last put in or reused `ageMs` ago. */
function blob(data: string, ageMs: number, inStore = store): string {
  const path = blobPath(inStore, sha256(data));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  chmodSync(path, 0o444);
  utimesSync(path, ago(ageMs), ago(ageMs));
  return sha256(data);
}

/** A workspace anchored to (and so registered with) `inStore`. */
function workspace(name: string, inStore = store): string {
  const ws = join(root, name);
  mkdirSync(ws, { recursive: true });
  ensureAnchor(anchorPath(ws), inStore);
  return ws;
}

/** A product link at `file`, as storeProductFile leaves it in a workspace (or Nx in a cache entry) whose root is `base`. */
function link(file: string, base: string, digest: string): void {
  mkdirSync(dirname(file), { recursive: true });
  symlinkSync(blobLinkText(file, base, digest), file);
}

const present = (digest: string, inStore = store) => existsSync(blobPath(inStore, digest));
const record = (ws: string) => join(store, 'workspaces', workspaceId(ws));

describe('pharos store-gc', () => {
  it('keeps what a registered workspace links to from dist/ and its Nx cache, and what is recent; removes the rest', async () => {
    const old = 5 * HOUR;
    const a = workspace('a');
    const b = workspace('b');
    const other = workspace('other');
    const gone = workspace('gone');

    // a: links in dist/ and in its Nx cache's entry (the link as Nx stored it, relative to the entry's folder).
    const inDist = blob('a: in dist', old);
    const inCache = blob('a: in .nx/cache', old);
    const sharedOld = blob('a and b: one blob', old);
    link(join(a, 'dist/containers/x/image.tar'), a, inDist);
    link(join(a, 'dist/containers/x/image2.tar'), a, sharedOld);
    const entry = join(a, '.nx/cache/1234567890');
    link(join(entry, 'dist/containers/y/y.sif'), entry, inCache);

    // b: its Nx cache is where nx.json says; node_modules and a linked folder are not looked in.
    writeFileSync(join(b, 'nx.json'), '{\n  // Nx allows comments here\n  "cacheDirectory": "tmp/nx-cache"\n}\n');
    const inCustomCache = blob('b: in its cacheDirectory', old);
    const inNodeModules = blob('b: under node_modules', old);
    const behindLinkedFolder = blob('b: behind a linked folder', old);
    const entryB = join(b, 'tmp/nx-cache/987');
    link(join(entryB, 'dist/z/disk.qcow2'), entryB, inCustomCache);
    link(join(b, 'dist/shared/image.tar'), b, sharedOld);
    link(join(b, 'dist/app/node_modules/pkg/image.tar'), b, inNodeModules);
    const outside = join(root, 'outside');
    link(join(outside, 'd/e/image.tar'), outside, behindLinkedFolder);
    symlinkSync(outside, join(b, 'dist/elsewhere'));

    // A workspace now anchored to another store, and one whose folder is gone: neither counts.
    const otherStore = join(root, 'other-store');
    mkdirSync(otherStore);
    ensureAnchor(anchorPath(other), otherStore);
    const ofOther = blob('other: linked, but its anchor leads elsewhere', old);
    link(join(other, 'dist/o/image.tar'), other, ofOther);
    const ofGone = blob('gone: linked from a deleted clone', old);
    link(join(gone, 'dist/g/image.tar'), gone, ofGone);
    const ofGoneRecent = blob('gone: linked, and reused 10 minutes ago', 10 * 60_000);
    link(join(gone, 'dist/g/image2.tar'), gone, ofGoneRecent);
    rmSync(gone, { recursive: true });

    const unanchored = workspace('unanchored');
    rmSync(join(unanchored, '.pharos'), { recursive: true });
    const unlinkedOld = blob('nothing links to it, 5 hours old', old);
    const unlinkedRecent = blob('nothing links to it, 30 minutes old', 30 * 60_000);
    expect(readdirSync(join(store, 'workspaces')).length).toBe(5);

    const result = await gc();

    for (const kept of [inDist, inCache, sharedOld, inCustomCache, ofGoneRecent, unlinkedRecent]) expect(present(kept), kept).toBe(true);
    for (const removed of [inNodeModules, behindLinkedFolder, ofOther, ofGone, unlinkedOld]) expect(present(removed), removed).toBe(false);
    expect(existsSync(record(a)) && existsSync(record(b))).toBe(true);
    expect(existsSync(record(other)) || existsSync(record(gone)) || existsSync(record(unanchored))).toBe(false);
    expect(readFileSync(record(a), 'utf8')).toBe(a);
    // What moved aside to be removed is gone too.
    expect(
      readdirSync(join(store, 'sha256'))
        .flatMap((p) => readdirSync(join(store, 'sha256', p)))
        .filter((n) => n.startsWith('.')),
    ).toEqual([]);
    expect(result.removed.length).toBe(5);
    expect(result.kept.length).toBe(6);

    expect(lines).toEqual([
      `pharos: store-gc: kept 3 blobs linked from ${a}`,
      `pharos: store-gc: kept 2 blobs linked from ${b}`,
      `pharos: store-gc: unregistered ${gone}: its folder is gone`,
      `pharos: store-gc: unregistered ${other}: its anchor leads to another store (${otherStore})`,
      `pharos: store-gc: unregistered ${unanchored}: it has no store anchor (.pharos/store)`,
      'pharos: store-gc: kept 2 unlinked blobs put in or reused within 1h (--keep-newer)',
      `pharos: store-gc: removed 5 blobs (${result.removed.reduce((s, r) => s + r.bytes, 0)} B), kept 6 (${result.kept.reduce((s, r) => s + r.bytes, 0)} B) in ${store}`,
    ]);
  });

  it('with --dry-run removes nothing, unregisters nothing, and says what it would do', async () => {
    const ws = workspace('ws');
    const linked = blob('linked', 5 * HOUR);
    link(join(ws, 'dist/a/image.tar'), ws, linked);
    const unlinked = blob('unlinked', 5 * HOUR);
    const gone = workspace('gone');
    rmSync(gone, { recursive: true });
    const dead = await endedPid();
    const temporary = join(dirname(blobPath(store, unlinked)), `.${unlinked}.tmp-p${dead}@${nodeTag()}-a1b2c3`);
    writeFileSync(temporary, 'half a blob');

    const result = await gc({ dryRun: true });

    expect(present(linked) && present(unlinked) && existsSync(temporary) && existsSync(record(gone))).toBe(true);
    expect(result.removed.map((r) => r.sha256)).toEqual([unlinked]);
    expect(lines).toEqual([
      `pharos: store-gc: kept 1 blob linked from ${ws}`,
      `pharos: store-gc: would unregister ${gone}: its folder is gone`,
      'pharos: store-gc: would remove 1 temporary file of ended runs (11 B)',
      `pharos: store-gc: would remove 1 blob (8 B), keep 1 (6 B) in ${store}`,
    ]);
  });

  it('removes the temporary files in the store whose owner has ended on this node, and no other', async () => {
    const dead = await endedPid();
    const digest = blob('a blob', 0);
    const dir = dirname(blobPath(store, digest));
    const own = (pid: number, node = nodeTag()) => `.${digest}.tmp-p${pid}@${node}-a1b2c3`;
    writeFileSync(join(dir, own(dead)), 'a partial copy');
    mkdirSync(join(dir, own(dead).replace('a1b2c3', 'd4e5f6'), 'blobs'), { recursive: true }); // a team store layout
    writeFileSync(join(dir, own(1)), 'pid 1 runs');
    writeFileSync(join(dir, own(dead, nodeTag('another-node'))), 'another node: cannot tell');
    const recordTmp = join(store, 'workspaces', `.${workspaceId('/x')}.tmp-p${dead}@${nodeTag()}-a1b2c3`);
    mkdirSync(dirname(recordTmp), { recursive: true });
    writeFileSync(recordTmp, '/x');

    await gc();

    expect(readdirSync(dir).sort()).toEqual([digest, own(1), own(dead, nodeTag('another-node'))].sort());
    expect(existsSync(recordTmp)).toBe(false);
    expect(lines).toContain('pharos: store-gc: removed 3 temporary files of ended runs (16 B)');
    expect(present(digest)).toBe(true);
  });

  it('with --keep-newer 0 removes every unlinked blob, however recent', async () => {
    const recent = blob('just now', 0);
    await gc({ keepNewerMs: 0 });
    expect(present(recent)).toBe(false);
  });

  it('refuses to run while another store-gc holds the store', async () => {
    const lock = join(store, 'gc.lock');
    const holder = { type: 'store-gc', pid: 1, node: hostname(), job_id: null, created_at: new Date().toISOString() };
    writeFileSync(lock, JSON.stringify(holder));
    const unlinked = blob('unlinked', 5 * HOUR);
    const err = await failureOf(gc());
    expect(err.message).toMatch(new RegExp(`^another run holds ${lock}: store-gc \\(pid 1 on `));
    expect(err.details.next).toMatch(/^another store-gc is removing blobs from this store/);
    expect(present(unlinked)).toBe(true);
    // A dry run takes no lock: it removes nothing.
    await gc({ dryRun: true });
    expect(readFileSync(lock, 'utf8')).toBe(JSON.stringify(holder));
  });

  it('releases its lock, and says so when there is no store', async () => {
    await gc();
    expect(existsSync(join(store, 'gc.lock'))).toBe(false);
    env = { PHAROS_STORE: join(root, 'none') };
    await gc();
    expect(lines.at(-1)).toBe(`pharos: store-gc: there is no store at ${join(root, 'none')}: nothing to do`);
    expect(existsSync(join(root, 'none'))).toBe(false);
  });
});

describe('removeUnlessReused', () => {
  it('puts back a blob a build reused since it was listed (its time is new), and removes an old one', () => {
    const reused = blob('reused', 0);
    const path = blobPath(store, reused);
    const inode = statSync(path).ino;
    expect(removeUnlessReused(path, Date.now() - HOUR)).toBe(false);
    expect(statSync(path).ino).toBe(inode);
    const old = blob('old', 5 * HOUR);
    expect(removeUnlessReused(blobPath(store, old), Date.now() - HOUR)).toBe(true);
    expect(present(old)).toBe(false);
    expect(readdirSync(dirname(path)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('the command', () => {
  it('is pharos store-gc, with its usage and errors', async () => {
    const { main } = await import('../cli');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.stubEnv('PHAROS_STORE', store);
    const exitCode = process.exitCode;
    try {
      await main(['store-gc', '--dry-run']);
      await main(['store-gc', '--keep-newer', 'soon']);
      expect(out.mock.calls.map((c) => String(c[0]))).toEqual([`pharos: store-gc: would remove 0 blobs (0 B), keep 0 (0 B) in ${store}\n`]);
      expect(String(err.mock.calls[0][0])).toMatch(/^pharos: pharos store-gc: --keep-newer "soon" is not an age\n {2}next: /);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = exitCode;
      vi.unstubAllEnvs();
      out.mockRestore();
      err.mockRestore();
    }
  });
});

/** A pid that has ended (a `true` that ran and exited). */
async function endedPid(): Promise<number> {
  const ended = execa('true');
  await ended;
  return ended.pid as number;
}
