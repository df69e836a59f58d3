import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { failureOf } from '../testing/failure';
import { nextProduct, writeAtomically } from '../utils/atomic-file';
import { PharosError } from '../utils/errors';
import { workspaceId } from '../utils/leftovers';
import { imageDir, imageProductPaths } from './image';
import { overlayDir, overlayProductPaths } from './overlay';
import { debsDir, productDir, tarballDir } from './paths';
import { sifProductPaths } from './sif';
import { anchorPath, blobLinkText, blobPath, STORE_IN_SHALLOW_MOUNTS } from './store';
import {
  assertBlobPresent,
  assertProductDigest,
  ensureAnchor,
  exportProduct,
  hashAndStore,
  storeProductFile,
  storeToMount,
  useTeamStore,
  type TeamStore,
} from './store-files';
import { BASE_DISK_FILE, baseDiskDir, vmImageDir } from './vm-image';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const bytes = (n: number, fill = 'x') => Buffer.alloc(n, fill);

let root: string;
let ws: string;
let store: string;
/** What a test stores with: its own store, and a threshold of 1 KiB. */
let storeEnv: NodeJS.ProcessEnv;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pharos-store-'));
  ws = join(root, 'ws');
  store = join(root, 'store');
  mkdirSync(ws);
  storeEnv = { PHAROS_STORE: store, PHAROS_STORE_THRESHOLD: '1k' };
  vi.stubEnv('PHAROS_STORE', store);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

/** A product file under the workspace's dist/, written as an executor would. */
function product(rel: string, data: Buffer | string): string {
  const file = join(ws, 'dist', rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  return file;
}

describe('storeProductFile', () => {
  it('moves a big file into the store by a hard link on one filesystem, leaving a relative link through the anchor', async () => {
    const data = bytes(4096);
    const file = product('x/y/image.tar', data);
    const inode = statSync(file).ino;
    expect(await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv })).toBe(true);
    const blob = blobPath(store, sha256(data));
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readlinkSync(file)).toBe(`../../../.pharos/store/sha256/${sha256(data).slice(0, 2)}/${sha256(data)}`);
    expect(readlinkSync(anchorPath(ws))).toBe(store);
    expect(realpathSync(file)).toBe(realpathSync(blob));
    expect(statSync(blob).ino).toBe(inode);
    expect(statSync(blob).nlink).toBe(1);
    expect(statSync(blob).mode & 0o777).toBe(0o444);
    expect(readFileSync(file)).toEqual(data);
  });

  it('copies the file into a store on another filesystem, durably, as a read-only blob', async (ctx) => {
    if (!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(tmpdir()).dev) ctx.skip();
    const shm = mkdtempSync('/dev/shm/pharos-store-');
    try {
      const data = bytes(2048, 'c');
      const file = product('a/disk.qcow2', data);
      const inode = statSync(file).ino;
      await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv: { ...storeEnv, PHAROS_STORE: shm } });
      const blob = blobPath(shm, sha256(data));
      expect(statSync(blob).dev).not.toBe(statSync(ws).dev);
      expect(statSync(blob).ino).not.toBe(inode);
      expect(statSync(blob).mode & 0o777).toBe(0o444);
      expect(readFileSync(file)).toEqual(data);
      expect(readdirNames(dirname(blob))).toEqual([sha256(data)]);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('hashes the file when the caller has no digest', async () => {
    const data = bytes(3000, 'h');
    const file = product('a/b.sif', data);
    await storeProductFile(file, undefined, { workspaceRoot: ws, storeEnv });
    expect(readFileSync(blobPath(store, sha256(data)))).toEqual(data);
  });

  it('keeps one blob for the same bytes: the second copy is dropped, both links lead to it', async () => {
    const data = bytes(5000, 'd');
    const other = join(root, 'ws2');
    mkdirSync(other);
    const first = product('p/image.tar', data);
    await storeProductFile(first, sha256(data), { workspaceRoot: ws, storeEnv });
    const blob = blobPath(store, sha256(data));
    const inode = statSync(blob).ino;
    const second = join(other, 'dist/q/r/image.tar');
    mkdirSync(dirname(second), { recursive: true });
    writeFileSync(second, data);
    await storeProductFile(second, sha256(data), { workspaceRoot: other, storeEnv });
    expect(statSync(blob).ino).toBe(inode);
    expect(realpathSync(second)).toBe(realpathSync(blob));
    expect(readlinkSync(second)).toBe(`../../../.pharos/store/sha256/${sha256(data).slice(0, 2)}/${sha256(data)}`);
    expect(readlinkSync(anchorPath(other))).toBe(store);
  });

  it('replaces a blob of the wrong size (damaged), never one of the right size', async () => {
    const data = bytes(2000, 'e');
    const blob = blobPath(store, sha256(data));
    mkdirSync(dirname(blob), { recursive: true });
    writeFileSync(blob, 'truncated');
    await storeProductFile(product('a/x.deb', data), sha256(data), { workspaceRoot: ws, storeEnv });
    expect(readFileSync(blob)).toEqual(data);
  });

  it('leaves small files, links, folders, and everything when off, as they are', async () => {
    const small = product('a/image.json', '{"schema":1}');
    expect(await storeProductFile(small, undefined, { workspaceRoot: ws, storeEnv })).toBe(false);
    expect(lstatSync(small).isFile()).toBe(true);
    const big = product('a/image.tar', bytes(4096));
    expect(await storeProductFile(big, undefined, { workspaceRoot: ws, storeEnv: { ...storeEnv, PHAROS_STORE_THRESHOLD: 'off' } })).toBe(false);
    expect(lstatSync(big).isFile()).toBe(true);
    expect(await storeProductFile(dirname(big), undefined, { workspaceRoot: ws, storeEnv })).toBe(false);
    await storeProductFile(big, undefined, { workspaceRoot: ws, storeEnv });
    expect(await storeProductFile(big, undefined, { workspaceRoot: ws, storeEnv })).toBe(false);
    expect(existsSync(anchorPath(join(root, 'nowhere')))).toBe(false);
  });

  it('stores everything at threshold 0, and a temporary sibling keeps its link text through the final rename', async () => {
    const tmp = product('a/.image.tar.tmp-x', 'tiny');
    await storeProductFile(tmp, undefined, { workspaceRoot: ws, storeEnv: { ...storeEnv, PHAROS_STORE_THRESHOLD: '0' } });
    renameSync(tmp, join(ws, 'dist/a/image.tar'));
    expect(readFileSync(join(ws, 'dist/a/image.tar'), 'utf8')).toBe('tiny');
  });

  it('swaps the link in atomically: the path is never missing, and a reader keeps the file it opened', async () => {
    const file = product('s/overlay.sqf', bytes(2048, 'A'));
    await storeProductFile(file, undefined, { workspaceRoot: ws, storeEnv });
    const reader = openSync(file, 'r');
    // A watcher in another process: says so whenever the path does not lead to a file.
    const watcher = spawn('sh', ['-c', 'echo ready; while :; do [ -f "$1" ] || echo missing; done', 'watch', file]);
    let seen = '';
    await new Promise<void>((resolve) =>
      watcher.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('ready\n')) resolve();
      }),
    );
    try {
      for (let i = 1; i <= 200; i++) {
        const next = `${file}.new`;
        writeFileSync(next, bytes(2048, String(i % 10)));
        renameSync(next, file);
        await storeProductFile(file, undefined, { workspaceRoot: ws, storeEnv });
      }
    } finally {
      watcher.kill();
    }
    expect(seen).toBe('ready\n');
    const first = Buffer.alloc(4);
    readSync(reader, first, 0, 4, 0);
    closeSync(reader);
    expect(first.toString()).toBe('AAAA');
    expect(readFileSync(file).subarray(0, 1).toString()).toBe('0');
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
  });
});

/**
 * Each product kind stored the way its executor writes it (in place, as a temporary sibling file, or inside a temporary
 * sibling folder renamed into dist/), at the path the product helpers give: the link it ends as climbs exactly to the
 * workspace, and reads the bytes back through the anchor.
 */
describe('product links of every kind, from where each executor writes them', () => {
  const ctx = () => ({ workspaceRoot: ws, storeEnv });
  /** The file renamed into place, from a temporary sibling stored before the rename (publishImage, publish.ts). */
  const viaSiblingFile = (final: string, data: Buffer) =>
    writeAtomically(final, async (tmp) => {
      await writeFile(tmp, data);
      await storeProductFile(tmp, sha256(data), ctx());
    });
  /** A folder renamed into place, its file stored inside it first (deb, tarball, vm-base-disk). */
  const viaSiblingFolder = (final: string, data: Buffer) =>
    writeAtomically(dirname(final), async (tmp) => {
      await mkdir(tmp, { recursive: true });
      await writeFile(join(tmp, posix.basename(final)), data);
      await hashAndStore(join(tmp, posix.basename(final)), ctx());
    });
  /** Written in place, then stored (sif, def-sif). */
  const inPlace = async (final: string, data: Buffer) => {
    await mkdir(dirname(final), { recursive: true });
    await writeFile(final, data);
    await hashAndStore(final, ctx());
  };
  /** The overlay's `.new-…` sibling, stored, then published with its manifest (overlay executor). */
  const viaNextProduct = async (final: string, data: Buffer) => {
    const next = await nextProduct([final]);
    try {
      await writeFile(next.path(final), data);
      await hashAndStore(next.path(final), ctx());
      next.publish();
    } finally {
      await next.discard();
    }
  };

  const kinds: Array<[string, string, (final: string, data: Buffer) => Promise<unknown>]> = [
    ['an image archive', imageProductPaths(imageDir('containers/base-tools')).archive, viaSiblingFile],
    ["the dev container's image archive", imageProductPaths(imageDir('tools/dev-container')).archive, viaSiblingFile],
    ["a container's SIF", sifProductPaths(productDir('containers/openmpi'), 'openmpi').sif, inPlace],
    ['an overlay', overlayProductPaths(overlayDir('gcc'), '13.2.0').sqf, viaNextProduct],
    ["a suite's .deb", posix.join(debsDir('third-party/slurm', '24.11.1', 'trixie'), 'slurmd_24.11.1-1_amd64.deb'), viaSiblingFolder],
    ['a relocatable tarball', posix.join(tarballDir('third-party/apptainer', '1.4.0', 'bookworm'), 'apptainer-1.4.0.tar.gz'), viaSiblingFolder],
    ['a base disk', posix.join(baseDiskDir('packer/cloud-base'), BASE_DISK_FILE), viaSiblingFolder],
    ['a VM image', posix.join(vmImageDir('packer/hpc-compute'), 'hpc-compute.qcow2'), viaSiblingFile],
  ];

  it.each(kinds)('%s (%s)', async (_kind, rel, write) => {
    const data = bytes(2048, rel);
    const final = join(ws, rel);
    await write(final, data);
    const depth = rel.split('/').length - 1;
    expect(readlinkSync(final)).toBe(`${'../'.repeat(depth)}.pharos/store/sha256/${sha256(data).slice(0, 2)}/${sha256(data)}`);
    expect(realpathSync(final)).toBe(realpathSync(blobPath(store, sha256(data))));
    expect(readFileSync(final)).toEqual(data);
    // What a verify check sees with the product's folder mounted at /debs or /tarball: the store bound there.
    expect(posix.resolve('/debs', readlinkSync(final))).toBe(`${STORE_IN_SHALLOW_MOUNTS}/sha256/${sha256(data).slice(0, 2)}/${sha256(data)}`);
    expect(readdirSync(dirname(final)).filter((f) => f.includes('.tmp-') || f.includes('.new'))).toEqual([]);
  });
});

describe('hashAndStore', () => {
  it("gives the manifest's digest and size of the file it put in the store", async () => {
    const data = bytes(1500, 'm');
    const file = product('a/b.deb', data);
    expect(await hashAndStore(file, { workspaceRoot: ws, storeEnv })).toEqual({ sha256: sha256(data), bytes: 1500 });
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
  });
});

describe('the anchor', () => {
  it('is made, kept when right, and re-pointed atomically when the store moved', () => {
    const anchor = anchorPath(ws);
    ensureAnchor(anchor, store);
    expect(readlinkSync(anchor)).toBe(store);
    const inode = lstatSync(anchor).ino;
    ensureAnchor(anchor, store);
    expect(lstatSync(anchor).ino).toBe(inode);
    ensureAnchor(anchor, '/elsewhere/store');
    expect(readlinkSync(anchor)).toBe('/elsewhere/store');
    expect(readdirNames(dirname(anchor))).toEqual(['store']);
  });

  it('refuses a folder where the anchor goes, naming it', () => {
    mkdirSync(anchorPath(ws), { recursive: true });
    expect(() => ensureAnchor(anchorPath(ws), store)).toThrow(PharosError);
    expect(() => ensureAnchor(anchorPath(ws), store)).toThrow(`${anchorPath(ws)} is not a link`);
  });
});

describe('registration with the store', () => {
  const record = (workspace: string, inStore = store) => join(inStore, 'workspaces', workspaceId(workspace));
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

  it('records the root of every workspace that stores a product, once: a right record is read, never written', async () => {
    const other = join(root, 'ws2');
    mkdirSync(other);
    await storeProductFile(product('a/image.tar', bytes(2048, 'w')), undefined, { workspaceRoot: ws, storeEnv });
    writeFileSync(join(other, 'x.sif'), bytes(2048, 'v'));
    await storeProductFile(join(other, 'x.sif'), undefined, { workspaceRoot: other, storeEnv });
    expect(readFileSync(record(ws), 'utf8')).toBe(ws);
    expect(readFileSync(record(other), 'utf8')).toBe(other);
    expect(readdirNames(join(store, 'workspaces'))).toEqual([workspaceId(ws), workspaceId(other)].sort());
    const before = statSync(record(ws));
    ensureAnchor(anchorPath(ws), store);
    await storeProductFile(product('b/image.tar', bytes(2048, 'u')), undefined, { workspaceRoot: ws, storeEnv });
    expect(statSync(record(ws)).ino).toBe(before.ino);
    writeFileSync(record(ws), '/somewhere/else');
    ensureAnchor(anchorPath(ws), store);
    expect(readFileSync(record(ws), 'utf8')).toBe(ws);
  });

  it('records a workspace whose consumer reads a blob through the anchor as it is', async () => {
    const data = bytes(2048, 'q');
    const file = product('a/image.tar', data);
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    rmSync(record(ws));
    await assertBlobPresent(file, { sha256: sha256(data) }, { shown: 'a', rebuild: 'b' }, { PHAROS_STORE: join(root, 'another-home/store') });
    expect(readFileSync(record(ws), 'utf8')).toBe(ws);
  });

  it('makes no store, and never fails the caller: a store it cannot write is one warning per process', () => {
    ensureAnchor(anchorPath(ws), join(root, 'no-store-yet'));
    expect(existsSync(join(root, 'no-store-yet'))).toBe(false);
    const warnings = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      mkdirSync(store);
      writeFileSync(join(store, 'workspaces'), 'a file where the folder goes');
      ensureAnchor(anchorPath(ws), store);
      ensureAnchor(anchorPath(join(root, 'ws2')), store);
      expect(warnings.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(new RegExp(`^pharos: warning: could not register ${ws} with the store ${store}, so pharos store-gc will not see its links: `)),
      ]);
    } finally {
      warnings.mockRestore();
    }
    expect(readlinkSync(anchorPath(ws))).toBe(store);
  });

  it('gives a blob the time it was put in or reused, so store-gc counts it as fresh', async () => {
    const data = bytes(3000, 't');
    const file = product('a/x.deb', data);
    utimesSync(file, hoursAgo(48), hoursAgo(48));
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    const blob = blobPath(store, sha256(data));
    expect(Date.now() - statSync(blob).mtimeMs).toBeLessThan(60_000);
    utimesSync(blob, hoursAgo(48), hoursAgo(48));
    await storeProductFile(product('b/x.deb', data), sha256(data), { workspaceRoot: ws, storeEnv });
    expect(Date.now() - statSync(blob).mtimeMs).toBeLessThan(60_000);
  });
});

describe('a consumer on a machine without the blob', () => {
  const described = { shown: 'dist/a/image.tar', rebuild: 'npx nx run a:image --skip-nx-cache' };
  /** A product link as a cache restore leaves it: its blob in no store of this machine. */
  function restoredLink(digest: string): string {
    const file = join(ws, 'dist/a/image.tar');
    mkdirSync(dirname(file), { recursive: true });
    symlinkSync(blobLinkText(file, ws, digest), file);
    return file;
  }

  it('names the product, the blob, this machine’s store and the target to re-run', async () => {
    const digest = sha256('elsewhere');
    const err = await failureOf(assertBlobPresent(restoredLink(digest), { sha256: digest, bytes: 9 }, described, storeEnv));
    expect(err.format()).toBe(
      `pharos: dist/a/image.tar: links to blob sha256:${digest}, which this machine does not have (store: ${store})\n` +
        `  next: rebuild it here: npx nx run a:image --skip-nx-cache`,
    );
    // The anchor now leads to this machine's store, where a rebuild puts the blob.
    expect(readlinkSync(anchorPath(ws))).toBe(store);
  });

  it('refuses a blob of another size than the manifest says', async () => {
    const digest = sha256('twelve bytes');
    const file = restoredLink(digest);
    mkdirSync(dirname(blobPath(store, digest)), { recursive: true });
    writeFileSync(blobPath(store, digest), 'twelve');
    const err = await failureOf(assertBlobPresent(file, { bytes: 12 }, described, storeEnv));
    expect(err.message).toBe(`links to blob sha256:${digest}, which this machine has with 6 bytes, not 12 (store: ${store})`);
    await expect(assertBlobPresent(file, {}, described, storeEnv)).resolves.toBeUndefined();
  });

  it('refuses a link to another blob than the manifest names', async () => {
    const digest = sha256('a');
    const err = await failureOf(assertBlobPresent(restoredLink(digest), { sha256: sha256('b') }, described, storeEnv));
    expect(err.message).toBe(`links to blob sha256:${digest}, but its manifest says sha256 ${sha256('b')}`);
  });

  it('re-points an anchor left at another store, and then finds the blob', async () => {
    const data = bytes(2048, 'r');
    const file = product('a/image.tar', data);
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    ensureAnchor(anchorPath(ws), join(root, 'old-store'));
    await assertBlobPresent(file, { sha256: sha256(data), bytes: 2048 }, described, storeEnv);
    expect(readlinkSync(anchorPath(ws))).toBe(store);
  });

  it('leaves an anchor alone that already reaches a good blob (a command run with another HOME)', async () => {
    const data = bytes(2048, 'k');
    const file = product('a/image.tar', data);
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    await assertBlobPresent(file, { sha256: sha256(data), bytes: 2048 }, described, { PHAROS_STORE: join(root, 'another-home/store') });
    expect(readlinkSync(anchorPath(ws))).toBe(store);
  });

  it('leaves a plain file, another link and no file to the caller', async () => {
    const plain = product('a/plain.tar', 'x');
    await expect(assertBlobPresent(plain, { bytes: 99 }, described, storeEnv)).resolves.toBeUndefined();
    symlinkSync('plain.tar', join(ws, 'dist/a/mine.tar'));
    await expect(assertBlobPresent(join(ws, 'dist/a/mine.tar'), {}, described, storeEnv)).resolves.toBeUndefined();
    await expect(assertBlobPresent(join(ws, 'dist/a/none'), {}, described, storeEnv)).resolves.toBeUndefined();
  });

  it('says to remove a blob whose bytes are not its digest’s, since a rebuild would keep it', async () => {
    const data = bytes(2048, 'g');
    const file = product('a/image.tar', data);
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    const blob = blobPath(store, sha256(data));
    rmSync(blob);
    writeFileSync(blob, bytes(2048, 'b'));
    const err = await failureOf(assertProductDigest(file, { sha256: sha256(data), bytes: 2048 }, { ...described, what: 'the image archive' }));
    expect(err.message).toMatch(new RegExp(`^the image archive has sha256 [0-9a-f]{64}, its manifest says ${sha256(data)}: the blob ${blob} is damaged$`));
    expect(err.details.next).toBe(`remove it (rm -f ${blob}), then npx nx run a:image --skip-nx-cache`);
  });
});

describe('the team store hook (lib/team-store installs the real one)', () => {
  afterEach(() => useTeamStore(undefined));

  /** A team store that holds `held` (sha256 → bytes) and records what it was asked and given. */
  function fakeTeamStore(held: Map<string, Buffer>) {
    const asked: Parameters<TeamStore['fetch']>[0][] = [];
    const published: Parameters<TeamStore['publish']>[0][] = [];
    const teamStore: TeamStore = {
      async fetch(blob) {
        asked.push(blob);
        const data = held.get(blob.sha256);
        if (!data) return { fetched: false, note: 'nor does the team store 127.0.0.1:7421' };
        await mkdir(dirname(blob.dest), { recursive: true });
        await writeFile(blob.dest, data, { mode: 0o444 });
        return { fetched: true };
      },
      async publish(blob) {
        published.push(blob);
      },
      async publishImage() {
        return undefined;
      },
    };
    useTeamStore(teamStore);
    return { asked, published };
  }

  const described = { shown: 'dist/a/image.tar', rebuild: 'npx nx run a:image --skip-nx-cache' };

  it('asks it for a blob this machine lacks, in this machine’s store, and the link then reads', async () => {
    const data = bytes(3000, 't');
    const digest = sha256(data);
    const { asked } = fakeTeamStore(new Map([[digest, data]]));
    const file = join(ws, 'dist/a/image.tar');
    mkdirSync(dirname(file), { recursive: true });
    symlinkSync(blobLinkText(file, ws, digest), file);
    await assertProductDigest(file, { sha256: digest, bytes: 3000 }, { ...described, what: 'the image archive' });
    expect(asked).toEqual([{ sha256: digest, bytes: 3000, dest: blobPath(store, digest), store, rebuild: described.rebuild }]);
    expect(readFileSync(file)).toEqual(data);
  });

  it('adds its note to the error naming the target when it lacks the blob too', async () => {
    const digest = sha256('nowhere');
    fakeTeamStore(new Map());
    const file = join(ws, 'dist/a/image.tar');
    mkdirSync(dirname(file), { recursive: true });
    symlinkSync(blobLinkText(file, ws, digest), file);
    const err = await failureOf(assertBlobPresent(file, { sha256: digest, bytes: 7 }, described, storeEnv));
    expect(err.format()).toBe(
      `pharos: dist/a/image.tar: links to blob sha256:${digest}, which this machine does not have (store: ${store}), nor does the team store 127.0.0.1:7421\n` +
        `  next: rebuild it here: npx nx run a:image --skip-nx-cache`,
    );
  });

  it('is given every blob put in the store, after the link is in place, and nothing that stays a plain file', async () => {
    const { published } = fakeTeamStore(new Map());
    const data = bytes(2048, 'p');
    const file = product('a/image.tar', data);
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    expect(published).toEqual([{ sha256: sha256(data), bytes: 2048, path: blobPath(store, sha256(data)), store }]);
    await storeProductFile(product('a/small.txt', 'x'), undefined, { workspaceRoot: ws, storeEnv });
    expect(published).toHaveLength(1);
  });
});

describe('storeToMount', () => {
  it('makes the store, and answers nothing when this user cannot, so a container that reads no product still starts', () => {
    expect(storeToMount({ PHAROS_STORE: store })).toBe(store);
    expect(statSync(store).isDirectory()).toBe(true);
    writeFileSync(join(root, 'a-file'), '');
    expect(storeToMount({ PHAROS_STORE: join(root, 'a-file/store') })).toBeUndefined();
    expect(() => storeToMount({ PHAROS_STORE: 'relative' })).toThrow('not an absolute path');
  });
});

describe('exportProduct', () => {
  it('writes a plain, writable copy through the link, and keeps an existing file unless forced', async () => {
    const data = bytes(4096, 'p');
    const file = product('a/image.tar', data);
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    const dest = join(root, 'out/copy.tar');
    expect(await exportProduct(file, dest, { force: false, env: storeEnv })).toBe(dest);
    expect(lstatSync(dest).isFile()).toBe(true);
    expect(statSync(dest).mode & 0o777).toBe(0o644);
    expect(readFileSync(dest)).toEqual(data);
    const again = await failureOf(exportProduct(file, dest, { force: false, env: storeEnv }));
    expect(again.format()).toContain(`${dest} exists`);
    expect(again.details.next).toContain('--force');
    writeFileSync(dest, 'mine');
    await exportProduct(file, dest, { force: true, env: storeEnv });
    expect(readFileSync(dest)).toEqual(data);
  });

  it('exports into a folder under the product’s name, and names a missing blob or file', async () => {
    const data = bytes(4096, 'q');
    const file = product('a/image.tar', data);
    await storeProductFile(file, sha256(data), { workspaceRoot: ws, storeEnv });
    mkdirSync(join(root, 'folder'));
    expect(await exportProduct(file, join(root, 'folder'), { force: false, env: storeEnv })).toBe(join(root, 'folder/image.tar'));
    rmSync(blobPath(store, sha256(data)));
    expect((await failureOf(exportProduct(file, join(root, 'x'), { force: false, env: storeEnv }))).message).toContain('which this machine does not have');
    expect((await failureOf(exportProduct(join(ws, 'dist/none'), join(root, 'x'), { force: false, env: storeEnv }))).message).toContain(
      'there is no product file',
    );
  });
});

const readdirNames = (dir: string) => readdirSync(dir).sort();
