import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobArtifact } from '../../products/blob-artifact';
import { blobLinkText, blobPath } from '../../products/store';
import { assertBlobPresent, publishImageToTeamStore, storeProductFile, useTeamStore } from '../../products/store-files';
import { failureOf } from '../../testing/failure';
import { freePort } from '../../tools/qemu';
import { dockerAuthConfig, REGISTRY_BINARY, userInAuthConfig, type RunningRegistry } from '../../tools/registry';
import { inspectRawArgv, runSkopeo, type RegistryAccess } from '../../tools/skopeo';
import { imageRefCli, pushedImageRef, pushImage } from './images';
import { installTeamStore } from './install';
import { startLoopbackTeamStore, type LoopbackPaths } from './loopback';
import { READ_AUTH_FILE, WRITE_AUTH_FILE } from './settings';
import { fetchBlob, pushBlob } from './team-store';

/**
 * The team store against the real thing: Debian's docker-registry (2.8.2) started by startLoopbackTeamStore on
 * ephemeral loopback ports (its read-only and read-write doors over one storage folder), and the real skopeo
 * (1.9.3), called through a logging shim that records each argv and REGISTRY_AUTH_FILE. No Docker engine. When the
 * binaries are missing the whole file is skipped, and says so on stderr.
 */
const needs = [REGISTRY_BINARY, '/usr/bin/skopeo', '/usr/bin/htpasswd'];
const missing = needs.filter((b) => !existsSync(b));
if (missing.length) {
  process.stderr.write(
    `\n*** team-store.registry.spec.ts SKIPPED: ${missing.join(', ')} not installed — the registry push/fetch paths are NOT tested.\n` +
      `*** install them: apt-get install -y --no-install-recommends docker-registry skopeo apache2-utils (npm run setup does)\n\n`,
  );
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const REBUILD = 'npx nx run base-tools:image --skip-nx-cache';
const WORKSPACE = join(__dirname, '../../../../..');

/** The pids whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(missing.length > 0)('the team store on a real docker-registry, through skopeo', () => {
  let root: string;
  let paths: LoopbackPaths;
  let running: RunningRegistry[] = [];
  let read: RegistryAccess;
  let write: RegistryAccess;
  /** The read-only user's credentials, for the write door. */
  let readerAtWriteDoor: RegistryAccess;
  let passwords: string[];
  let shimLog: string;
  let env: NodeJS.ProcessEnv;

  /** A store of its own holding `data` as a blob, as storeProductFile leaves it. */
  function storeWith(name: string, data: Buffer): { store: string; hex: string } {
    const store = join(root, name);
    const hex = sha256(data);
    mkdirSync(dirname(blobPath(store, hex)), { recursive: true });
    writeFileSync(blobPath(store, hex), data, { mode: 0o444 });
    return { store, hex };
  }

  /** Nothing but what a test put there: no temporary layout, no partial blob. */
  function filesUnder(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pharos-team-store-'));
    paths = {
      storage: join(root, 'registry'),
      runDir: join(root, 'registry-server'),
      credentialsDir: join(root, 'credentials'),
      readPort: await freePort(),
      writePort: await freePort(),
    };
    running = (await startLoopbackTeamStore(paths)).started;
    const readFile = join(paths.credentialsDir, READ_AUTH_FILE);
    const writeFile = join(paths.credentialsDir, WRITE_AUTH_FILE);
    read = { address: `127.0.0.1:${paths.readPort}`, authFile: readFile };
    write = { address: `127.0.0.1:${paths.writePort}`, authFile: writeFile };
    readerAtWriteDoor = { address: write.address, authFile: readFile };
    passwords = [readFile, writeFile].map((f) => userInAuthConfig(readFileSync(f, 'utf8'), read.address)!.password);
    // skopeo through a shim that logs what it was given: argv, and which credentials file (never its content).
    const shim = join(root, 'shim');
    shimLog = join(root, 'skopeo-argv.log');
    mkdirSync(shim);
    writeFileSync(
      join(shim, 'skopeo'),
      `#!/bin/sh\nprintf '%s | REGISTRY_AUTH_FILE=%s\\n' "$*" "$REGISTRY_AUTH_FILE" >> '${shimLog}'\nexec /usr/bin/skopeo "$@"\n`,
      { mode: 0o755 },
    );
    env = { PATH: `${shim}:${process.env.PATH}`, HOME: root };
  }, 30_000);

  afterAll(async () => {
    for (const r of running) await r.stop();
    useTeamStore(undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the credentials files 0600, keeps them on a second start, and starts nothing that answers', async () => {
    for (const f of [READ_AUTH_FILE, WRITE_AUTH_FILE]) expect(statSync(join(paths.credentialsDir, f)).mode & 0o777).toBe(0o600);
    const before = readFileSync(join(paths.credentialsDir, READ_AUTH_FILE), 'utf8');
    const again = await startLoopbackTeamStore(paths);
    expect(again.started).toEqual([]);
    expect(again.lines.join('\n')).toMatch(/kept .*auth\.json[\s\S]*answers at 127\.0\.0\.1:/);
    expect(readFileSync(join(paths.credentialsDir, READ_AUTH_FILE), 'utf8')).toBe(before);
    expect(new Set(passwords).size).toBe(2);
  });

  it('pushes a blob through the write door and fetches it by digest, through the read-only door, into an empty store', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const { store, hex } = storeWith('ci-store', data);
    await pushBlob(store, hex, data.length, 'blob', write, env);
    const laptop = join(root, 'laptop-store');
    const dest = blobPath(laptop, hex);
    expect(await fetchBlob(hex, data.length, dest, read, REBUILD, env)).toEqual({ fetched: true });
    expect(readFileSync(dest).equals(data)).toBe(true);
    expect(statSync(dest).mode & 0o777).toBe(0o444);
    expect(filesUnder(laptop)).toEqual([`sha256/${hex.slice(0, 2)}/${hex}`]);
    // Without the size (a consumer that has only the link): read from the team store's manifest, then pulled by digest.
    const other = join(root, 'other-store');
    expect(await fetchBlob(hex, undefined, blobPath(other, hex), read, REBUILD, env)).toEqual({ fetched: true });
    expect(sha256(readFileSync(blobPath(other, hex)))).toBe(hex);
    const pulls = readFileSync(shimLog, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('copy') && l.includes(`docker://${read.address}`));
    expect(pulls.length).toBe(2);
    for (const l of pulls) expect(l).toContain(`/pharos/store@${blobArtifact(hex, data.length).digest}`);
  });

  it("pushes a SIF also as the manifest Apptainer's oras:// pulls, under its own tag", async () => {
    const sif = Buffer.alloc(64 * 1024, 7);
    sif.write('#!/usr/bin/env run-singularity\n');
    sif.write('SIF_MAGIC\0', 32);
    const { store, hex } = storeWith('sif-store', sif);
    installTeamStore();
    const blob = blobPath(store, hex);
    // Through the hook: a blob just stored is published where PHAROS_REGISTRY_PUSH=1, as a SIF by its header.
    const ws = join(root, 'ws-sif');
    mkdirSync(join(ws, 'dist'), { recursive: true });
    writeFileSync(join(ws, 'dist', 'x.sif'), sif);
    const pushEnv = {
      ...env,
      PHAROS_STORE: store,
      PHAROS_STORE_THRESHOLD: '0',
      PHAROS_REGISTRY: write.address,
      PHAROS_REGISTRY_AUTH_FILE: write.authFile,
      PHAROS_REGISTRY_PUSH: '1',
    };
    expect(await storeProductFile(join(ws, 'dist', 'x.sif'), hex, { workspaceRoot: ws, storeEnv: pushEnv })).toBe(true);
    expect(existsSync(blob)).toBe(true);
    const manifest = await runSkopeo(inspectRawArgv(read, 'pharos/store', `sif-${hex}`), read, env);
    expect(manifest.ok).toBe(true);
    const m = JSON.parse(manifest.stdout);
    expect(m.config.mediaType).toBe('application/vnd.sylabs.sif.config.v1+json');
    expect(m.layers[0]).toEqual({ mediaType: 'application/vnd.sylabs.sif.layer.v1.sif', digest: `sha256:${hex}`, size: sif.length });
  });

  it('refuses a blob whose bytes in the registry were altered, and leaves nothing', async () => {
    const data = randomBytes(512 * 1024);
    const { store, hex } = storeWith('tamper-src', data);
    await pushBlob(store, hex, data.length, 'blob', write, env);
    const inRegistry = join(paths.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const original = readFileSync(inRegistry);
    const altered = Buffer.from(original);
    altered[100] ^= 0xff;
    chmodSync(inRegistry, 0o644);
    writeFileSync(inRegistry, altered);
    try {
      const laptop = join(root, 'tamper-laptop');
      const err = await failureOf(fetchBlob(hex, data.length, blobPath(laptop, hex), read, REBUILD, env));
      expect(err.message).toContain(`fetching blob sha256:${hex} from the team store ${read.address}`);
      expect(err.message).toContain('Digest did not match');
      expect(err.format()).toContain(`meanwhile, rebuild it here: ${REBUILD}`);
      expect(filesUnder(laptop)).toEqual([]);
    } finally {
      writeFileSync(inRegistry, original);
    }
  });

  it('fails clearly when the registry is killed mid-pull, keeps nothing, and a re-run succeeds', async () => {
    const data = randomBytes(16 * 1024 * 1024);
    const { store, hex } = storeWith('cut-src', data);
    await pushBlob(store, hex, data.length, 'blob', write, env);
    const readDoor = running.find((r) => r.address === read.address)!;
    // Between skopeo and the read-only door: after the first MiB of the blob's response it forwards nothing more,
    // kills the registry (SIGKILL) and so closes skopeo's connection as the dead registry's would be.
    let killed = false;
    const proxy = await cuttingProxy(paths.readPort, 1024 * 1024, () => {
      killed = true;
      process.kill(readDoor.pid, 'SIGKILL');
    });
    const viaProxy: RegistryAccess = { address: `127.0.0.1:${proxy.port}`, authFile: join(root, 'proxy-auth.json') };
    writeFileSync(viaProxy.authFile!, dockerAuthConfig([viaProxy.address], userInAuthConfig(readFileSync(read.authFile!, 'utf8'), read.address)!), {
      mode: 0o600,
    });
    const laptop = join(root, 'cut-laptop');
    try {
      const err = await failureOf(fetchBlob(hex, data.length, blobPath(laptop, hex), viaProxy, REBUILD, env));
      expect(killed).toBe(true);
      expect(err.message).toContain(`fetching blob sha256:${hex} from the team store ${viaProxy.address}`);
      expect(err.message).toContain('the connection ended before the whole blob arrived');
      expect(err.details.tail?.join('\n')).toMatch(/EOF|connection reset/);
      expect(err.format()).toMatch(/next: check that the registry at .* is running, then run the same command again/);
      expect(filesUnder(laptop)).toEqual([]);
    } finally {
      proxy.server.close();
    }
    // The read-only door started again (what setup does when it does not answer), and the same fetch again.
    const restarted = await startLoopbackTeamStore(paths);
    running = [...running.filter((r) => r !== readDoor), ...restarted.started];
    expect(restarted.started.map((r) => r.address)).toEqual([read.address]);
    expect(await fetchBlob(hex, data.length, blobPath(laptop, hex), read, REBUILD, env)).toEqual({ fetched: true });
    expect(sha256(readFileSync(blobPath(laptop, hex)))).toBe(hex);
  }, 30_000);

  it('removes the temporary layout and stops skopeo when the fetch is interrupted (Ctrl-C)', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const { store, hex } = storeWith('int-src', data);
    await pushBlob(store, hex, data.length, 'blob', write, env);
    let stalled = false;
    const proxy = await cuttingProxy(paths.readPort, 1024 * 1024, () => (stalled = true), true);
    const viaProxy: RegistryAccess = { address: `127.0.0.1:${proxy.port}`, authFile: join(root, 'int-auth.json') };
    writeFileSync(viaProxy.authFile!, dockerAuthConfig([viaProxy.address], userInAuthConfig(readFileSync(read.authFile!, 'utf8'), read.address)!), {
      mode: 0o600,
    });
    const laptop = join(root, 'int-laptop');
    // A process of its own, as a task is: fetchBlob through the TypeScript source, like bin/pharos.cjs.
    const script = join(root, 'fetch.cjs');
    writeFileSync(
      script,
      `require(${JSON.stringify(join(WORKSPACE, 'node_modules/@swc-node/register'))});\n` +
        `const { fetchBlob } = require(${JSON.stringify(join(__dirname, 'team-store.ts'))});\n` +
        `fetchBlob(process.argv[2], Number(process.argv[3]), process.argv[4], JSON.parse(process.argv[5]), 'rebuild', process.env).then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(1); });\n`,
    );
    const child = spawn(process.execPath, [script, hex, String(data.length), blobPath(laptop, hex), JSON.stringify(viaProxy)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      const until = Date.now() + 20_000;
      while (!stalled && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(stalled).toBe(true);
      const layouts = () => (existsSync(dirname(blobPath(laptop, hex))) ? readdirSync(dirname(blobPath(laptop, hex))) : []);
      expect(layouts().some((n) => n.startsWith(`.${hex}.tmp-`))).toBe(true);
      const skopeo = childrenOf(child.pid!);
      expect(skopeo.length).toBe(1);
      // The running skopeo's own command line and environment: a file name, never a password.
      const cmdline = readFileSync(`/proc/${skopeo[0]}/cmdline`, 'utf8').split('\0');
      expect(cmdline.slice(0, 2)).toEqual(['/usr/bin/skopeo', 'copy']);
      expect(readFileSync(`/proc/${skopeo[0]}/environ`, 'utf8').split('\0')).toContain(`REGISTRY_AUTH_FILE=${viaProxy.authFile}`);
      for (const p of passwords) for (const text of [cmdline.join(' '), readFileSync(`/proc/${skopeo[0]}/environ`, 'utf8')]) expect(text).not.toContain(p);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(stderr).toContain('SIGINT received, cleaning up');
      expect(code).toBe(130);
      expect(filesUnder(laptop)).toEqual([]);
      expect(layouts()).toEqual([]);
      expect(skopeo.filter((pid) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '))).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      proxy.server.close();
    }
  }, 40_000);

  it('lets the read-only credentials push nowhere: 401 at the write door, refused at the read-only door', async () => {
    const data = randomBytes(64 * 1024);
    const { store, hex } = storeWith('ro-src', data);
    const at401 = await failureOf(pushBlob(store, hex, data.length, 'blob', readerAtWriteDoor, env));
    expect(at401.message).toContain(`pushing blob sha256:${hex} to the team store ${write.address}`);
    expect(at401.message).toContain('401 unauthorized');
    expect(at401.format()).toContain('unset PHAROS_REGISTRY_PUSH');
    const atReadDoor = await failureOf(pushBlob(store, hex, data.length, 'blob', read, env));
    expect(atReadDoor.message).toContain('refused the write');
    // Even the read-write user cannot write through the read-only door.
    const writerAtReadDoor = await failureOf(pushBlob(store, hex, data.length, 'blob', { address: read.address, authFile: write.authFile }, env));
    expect(writerAtReadDoor.message).toContain('refused the write');
    expect(await fetchBlob(hex, data.length, blobPath(join(root, 'ro-laptop'), hex), read, REBUILD, env)).toMatchObject({ fetched: false });
    // Through the hook, as a laptop that set PHAROS_REGISTRY_PUSH=1 would: the task fails, naming the variable.
    installTeamStore();
    const ws = join(root, 'ws-ro');
    mkdirSync(join(ws, 'dist'), { recursive: true });
    writeFileSync(join(ws, 'dist', 'big.bin'), data);
    const laptopEnv = {
      ...env,
      PHAROS_STORE: join(root, 'ro-store'),
      PHAROS_STORE_THRESHOLD: '0',
      PHAROS_REGISTRY: write.address,
      PHAROS_REGISTRY_AUTH_FILE: read.authFile,
      PHAROS_REGISTRY_PUSH: '1',
    };
    const viaHook = await failureOf(storeProductFile(join(ws, 'dist', 'big.bin'), hex, { workspaceRoot: ws, storeEnv: laptopEnv }));
    expect(viaHook.format()).toContain('unset PHAROS_REGISTRY_PUSH');
  });

  it('gives the clear error naming the target when a blob is in neither store, or no registry answers', async () => {
    installTeamStore();
    const ws = join(root, 'ws-missing');
    const hex = sha256(Buffer.from('in neither store'));
    const link = join(ws, 'dist', 'base-tools', 'image.tar');
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(blobLinkText(link, ws, hex), link);
    const laptopEnv = { ...env, PHAROS_STORE: join(root, 'empty-store'), PHAROS_REGISTRY: read.address, PHAROS_REGISTRY_AUTH_FILE: read.authFile };
    const described = { shown: 'dist/base-tools/image.tar', rebuild: REBUILD };
    const neither = await failureOf(assertBlobPresent(link, { sha256: hex, bytes: 16 }, described, laptopEnv));
    expect(neither.format()).toContain(
      `links to blob sha256:${hex}, which this machine does not have (store: ${join(root, 'empty-store')}), nor does the team store ${read.address}`,
    );
    expect(neither.format()).toContain(`next: rebuild it here: ${REBUILD}`);
    const unknownSize = await failureOf(assertBlobPresent(link, {}, described, laptopEnv));
    expect(unknownSize.message).toContain(`nor does the team store ${read.address}`);
    const nobody = `127.0.0.1:${await freePort()}`;
    const down = await failureOf(assertBlobPresent(link, { sha256: hex, bytes: 16 }, described, { ...laptopEnv, PHAROS_REGISTRY: nobody }));
    expect(down.message).toContain(`and the team store ${nobody} does not answer`);
    const downUnknownSize = await failureOf(assertBlobPresent(link, {}, described, { ...laptopEnv, PHAROS_REGISTRY: nobody }));
    expect(downUnknownSize.message).toContain(`and the team store ${nobody} does not answer`);
    expect(down.format()).toContain(`next: rebuild it here: ${REBUILD}`);
  });

  it('fetches a missing blob for a consumer through the hook, and the link then reads', async () => {
    const data = randomBytes(256 * 1024);
    const { store, hex } = storeWith('hook-src', data);
    await pushBlob(store, hex, data.length, 'blob', write, env);
    installTeamStore();
    const ws = join(root, 'ws-hook');
    const link = join(ws, 'dist', 'x', 'blob.bin');
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(blobLinkText(link, ws, hex), link);
    const laptopEnv = { ...env, PHAROS_STORE: join(root, 'hook-laptop'), PHAROS_REGISTRY: read.address, PHAROS_REGISTRY_AUTH_FILE: read.authFile };
    await assertBlobPresent(link, { sha256: hex, bytes: data.length }, { shown: 'dist/x/blob.bin', rebuild: REBUILD }, laptopEnv);
    expect(sha256(readFileSync(link))).toBe(hex);
  });

  it('pushes a docker image product as an image through the hook, records its digest, and a pull by that digest gets that image', async () => {
    const image = dockerArchive(join(root, 'img'), 'hello from the image\n');
    installTeamStore();
    const product = { project: 'tiny', tags: ['pharos/tiny:latest'], id: image.id, archiveSha256: image.sha256, archive: image.archive };
    const pushEnv = { ...env, PHAROS_REGISTRY: write.address, PHAROS_REGISTRY_AUTH_FILE: write.authFile, PHAROS_REGISTRY_PUSH: '1' };
    // A laptop (no PHAROS_REGISTRY_PUSH) pushes nothing, and asks nothing.
    const calls = () => readFileSync(shimLog, 'utf8').split('\n').length;
    const before = calls();
    expect(await publishImageToTeamStore(product, { ...pushEnv, PHAROS_REGISTRY_PUSH: '' })).toBeUndefined();
    expect(calls()).toBe(before);

    const pushed = await publishImageToTeamStore(product, pushEnv);
    expect(pushed).toMatch(new RegExp(`^${write.address}/pharos/images/tiny@sha256:[0-9a-f]{64}$`));
    const digest = pushed!.split('@')[1];
    // The tag people see, and the record, name the same manifest; its config is the image ID.
    for (const tag of ['latest', `archive-${image.sha256}`]) {
      const m = await runSkopeo(inspectRawArgv(read, 'pharos/images/tiny', tag), read, env);
      expect(m.ok).toBe(true);
      expect(`sha256:${sha256(Buffer.from(m.stdout))}`).toBe(digest);
      expect(JSON.parse(m.stdout).config.digest).toBe(image.id);
    }
    // A second publish of the same archive finds the record and sends nothing.
    const pushes = () =>
      readFileSync(shimLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes('docker-archive:')).length;
    const pushedOnce = pushes();
    expect(await publishImageToTeamStore(product, pushEnv)).toBe(pushed);
    expect(pushes()).toBe(pushedOnce);

    // A reader (the read-only door and credentials) gets the reference from the record, as `pharos image-ref` prints it.
    const dist = join(root, 'img-dist');
    mkdirSync(dist);
    writeFileSync(
      join(dist, 'image.json'),
      JSON.stringify({ schema: 1, project: 'tiny', id: image.id, tags: product.tags, archive: 'image.tar', archiveSha256: image.sha256 }),
    );
    let printed = '';
    const readerEnv = { ...env, PHAROS_REGISTRY: read.address, PHAROS_REGISTRY_AUTH_FILE: read.authFile };
    expect(await imageRefCli([dist], { stdout: { write: (t: string) => (printed += t) } }, readerEnv)).toBe(0);
    expect(printed).toBe(`${read.address}/pharos/images/tiny@${digest}\n`);
    // Pulled by that digest into a docker-archive (what docker load takes): the same config, so the same image ID, and the same layer.
    const out = join(root, 'img-pulled.tar');
    const pull = await runSkopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${printed.trim()}`, `docker-archive:${out}`], read, env);
    expect(pull.failure).toBeUndefined();
    const [entry] = JSON.parse(execFileSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' }));
    expect(`sha256:${sha256(execFileSync('tar', ['-xOf', out, entry.Config]))}`).toBe(image.id);
    expect(sha256(execFileSync('tar', ['-xOf', out, entry.Layers[0]]))).toBe(image.layerSha256);
    // An image this registry has no record of: the error says so, naming the image and what pushes it.
    const other = dockerArchive(join(root, 'img-other'), 'never pushed\n');
    const none = await failureOf(pushedImageRef({ ...product, id: other.id, archiveSha256: other.sha256 }, read, env));
    expect(none.message).toBe(`the team store ${read.address} has no record of it: image pharos/images/tiny (archive sha256:${other.sha256})`);
    expect(none.format()).toContain('PHAROS_REGISTRY_PUSH=1');
  });

  it('lets the read-only credentials push no image: 401 at the write door, refused at the read-only door', async () => {
    const image = dockerArchive(join(root, 'img-ro'), 'a laptop build\n');
    const product = { project: 'tiny-ro', tags: ['pharos/tiny-ro:latest'], id: image.id, archiveSha256: image.sha256 };
    const subject = `pushing image pharos/images/tiny-ro (archive sha256:${image.sha256}) to the team store`;
    const at401 = await failureOf(pushImage(product, image.archive, readerAtWriteDoor, env));
    expect(at401.message).toContain(`${subject} ${write.address}: the registry refused the credentials in ${read.authFile}`);
    expect(at401.format()).toContain('unset PHAROS_REGISTRY_PUSH');
    const atReadDoor = await failureOf(pushImage(product, image.archive, read, env));
    expect(atReadDoor.message).toContain(`${subject} ${read.address}: the registry refused the write`);
    const writerAtReadDoor = await failureOf(pushImage(product, image.archive, { address: read.address, authFile: write.authFile }, env));
    expect(writerAtReadDoor.message).toContain('refused the write');
    expect((await runSkopeo(inspectRawArgv(read, 'pharos/images/tiny-ro', 'latest'), read, env)).failure?.kind).toBe('missing');
  });

  it('puts no credential in argv, in the registry logs, or in any error', async () => {
    const log = readFileSync(shimLog, 'utf8');
    expect(log).toContain(`REGISTRY_AUTH_FILE=${read.authFile}`);
    const logs = [
      log,
      ...running.map((r) => readFileSync(r.log, 'utf8')),
      ...['read', 'write'].map((n) => readFileSync(join(paths.runDir, `${n}.log`), 'utf8')),
    ];
    for (const p of passwords) {
      const encoded = [p, Buffer.from(p).toString('base64')];
      for (const text of logs) for (const e of encoded) expect(text).not.toContain(e);
    }
    // The errors above are built from the same parts; one more of each kind, checked for both passwords.
    const data = randomBytes(1024);
    const { store, hex } = storeWith('leak-src', data);
    const errors = [
      await failureOf(pushBlob(store, hex, data.length, 'blob', readerAtWriteDoor, env)),
      await failureOf(pushBlob(store, hex, data.length, 'blob', read, env)),
    ].map((e) => e.format());
    for (const p of passwords) for (const e of errors) expect(e).not.toContain(p);
  });
});

/**
 * A docker-archive (`docker save`'s format) of a one-layer image holding one file, built with tar, as `docker save`
 * of Docker 20.10 lays it out: manifest.json, the config named by its digest (the image ID), the layer's tar.
 */
function dockerArchive(dir: string, content: string): { archive: string; id: string; sha256: string; layerSha256: string } {
  const digest = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  const deterministic = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner'];
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  mkdirSync(join(dir, 'archive'));
  writeFileSync(join(dir, 'rootfs', 'hello.txt'), content);
  execFileSync('tar', [...deterministic, '-C', join(dir, 'rootfs'), '-cf', join(dir, 'layer.tar'), 'hello.txt']);
  const layer = readFileSync(join(dir, 'layer.tar'));
  const layerSha256 = digest(layer);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerSha256}`] },
    history: [{ created_by: 'team-store.registry.spec.ts' }],
  });
  const configHex = digest(config);
  mkdirSync(join(dir, 'archive', layerSha256));
  writeFileSync(join(dir, 'archive', layerSha256, 'layer.tar'), layer);
  writeFileSync(join(dir, 'archive', `${configHex}.json`), config);
  writeFileSync(join(dir, 'archive', 'manifest.json'), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: null, Layers: [`${layerSha256}/layer.tar`] }]));
  const archive = join(dir, 'image.tar');
  execFileSync('tar', [...deterministic, '-C', join(dir, 'archive'), '-cf', archive, 'manifest.json', `${configHex}.json`, `${layerSha256}/layer.tar`]);
  return { archive, id: `sha256:${configHex}`, sha256: digest(readFileSync(archive)), layerSha256 };
}

/**
 * A TCP proxy to 127.0.0.1:`port` that, once it has passed `limit` bytes of one response, passes nothing more and
 * calls `cut`; with `stall`, it then holds the connections open (a registry that hangs), else it ends the client's
 * connection when the registry's closes (`cut` kills the registry).
 */
async function cuttingProxy(port: number, limit: number, cut: () => void, stall = false): Promise<{ server: Server; port: number }> {
  let fired = false;
  const server = createServer((client: Socket) => {
    const upstream = connect(port, '127.0.0.1');
    let passed = 0;
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (fired) return;
      passed += d.length;
      if (passed <= limit) return void client.write(d);
      client.write(d.subarray(0, d.length - (passed - limit)));
      fired = true;
      cut();
    });
    upstream.on('close', () => (stall ? undefined : client.destroy()));
    upstream.on('error', () => (stall ? undefined : client.destroy()));
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}
