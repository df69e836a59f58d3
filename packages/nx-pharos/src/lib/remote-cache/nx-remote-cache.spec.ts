import { execa } from 'execa';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editInput } from '../../testing/edit-input';
import { startCacheServer, type CacheServer } from './server';

/**
 * The real Nx of this repository against the server, in a scratch workspace of one cached target (no Docker, a few
 * seconds): what CI uploads with the read-write token, a laptop restores with the read-only token, and cannot add to.
 * Nx 22 needs nothing but the two environment variables, as long as Nx Cloud is not configured (no nxCloudId or
 * nxCloudAccessToken in nx.json, no NX_CLOUD_ACCESS_TOKEN), which would take precedence.
 */

const REPO_NODE_MODULES = resolve(__dirname, '../../../../../node_modules');
const tokens = { read: 'read-token-0123456789abcdef', write: 'write-token-0123456789abcdef' };
const LINK_FROM_DEPTH_2 = '../../.pharos/store/blob';
const BLOB = Buffer.alloc(2 << 20, 'b');

describe("Nx's self-hosted remote cache, served by pharos cache-server", () => {
  let root: string;
  let ws: string;
  let server: CacheServer;
  const log: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pharos-nx-cache-'));
    ws = join(root, 'ws');
    mkdirSync(join(ws, 'app'), { recursive: true });
    symlinkSync(REPO_NODE_MODULES, join(ws, 'node_modules'));
    writeFileSync(join(ws, 'package.json'), JSON.stringify({ name: 'scratch', version: '0.0.0', private: true }));
    writeFileSync(join(ws, 'nx.json'), '{}\n');
    const build = {
      executor: 'nx:run-commands',
      cache: true,
      inputs: ['{projectRoot}/input.txt'],
      outputs: ['{workspaceRoot}/dist/app'],
      options: { command: 'mkdir -p dist/app && cat app/input.txt > dist/app/out.txt && echo built the app' },
    };
    writeFileSync(join(ws, 'app', 'project.json'), JSON.stringify({ name: 'app', root: 'app', targets: { build } }));
    writeFileSync(join(ws, 'app', 'input.txt'), 'one\n');
    // A product link as products/store.ts makes them (relative, through the workspace's anchor .pharos/store), as a
    // file output and inside a folder output; the blob is over the server's size limit.
    const linked = {
      ...build,
      outputs: ['{workspaceRoot}/dist/linked/big.sif', '{workspaceRoot}/dist/linked-debs'],
      options: {
        command: `mkdir -p dist/linked dist/linked-debs && ln -s ${LINK_FROM_DEPTH_2} dist/linked/big.sif && ln -s ${LINK_FROM_DEPTH_2} dist/linked-debs/big.deb`,
      },
    };
    mkdirSync(join(ws, 'linked'));
    writeFileSync(join(ws, 'linked', 'project.json'), JSON.stringify({ name: 'linked', root: 'linked', targets: { build: linked } }));
    writeFileSync(join(ws, 'linked', 'input.txt'), 'one\n');
    mkdirSync(join(root, 'store'));
    writeFileSync(join(root, 'store', 'blob'), BLOB);
    mkdirSync(join(ws, '.pharos'));
    symlinkSync(join(root, 'store'), join(ws, '.pharos', 'store'));
    server = await startCacheServer({ dir: join(root, 'entries'), tokens, maxEntryBytes: 1 << 20, host: '127.0.0.1', port: 0, log: (l) => log.push(l) });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** `nx run app:build` with `token`, and none of this process's NX_ variables (a run under Nx would pass its own). */
  const nxBuild = async (token: string, target = 'app:build') => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
    const r = await execa('node', [join(ws, 'node_modules/nx/bin/nx.js'), 'run', target], {
      cwd: ws,
      reject: false,
      all: true,
      extendEnv: false,
      env: { ...env, NX_DAEMON: 'false', NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token },
    });
    // Without colours, should FORCE_COLOR be set: Nx dims the `[remote cache]` it prints after a restored task.
    const output = stripVTControlCharacters(r.all ?? '');
    for (const t of Object.values(tokens)) expect(output).not.toContain(t);
    return { exitCode: r.exitCode, output };
  };
  const entries = () => readdirSync(join(root, 'entries'));
  /**
   * An edit Nx cannot miss: the input, and Nx's record of the workspace (its file hashes and which local entries count).
   * editInput alone still let the full unit run (other files' specs on both cores) restore the previous content's local
   * entry now and then (in CI, and in about 1 run of 3 of the whole unit project); these tests are about tokens, not
   * about Nx's file index, so they give it nothing to remember.
   */
  const changeInput = async (text: string) => {
    await editInput(join(ws, 'app', 'input.txt'), text);
    rmSync(join(ws, '.nx/workspace-data'), { recursive: true, force: true });
  };
  const forgetLocally = () => {
    for (const p of ['.nx/cache', '.nx/workspace-data', 'dist']) rmSync(join(ws, p), { recursive: true, force: true });
  };

  it('CI stores an entry with the read-write token; a clean clone with the read-only token restores it as a remote hit', async () => {
    const ci = await nxBuild(tokens.write);
    expect(ci.exitCode, ci.output).toBe(0);
    expect(ci.output).toContain('built the app');
    expect(entries()).toHaveLength(1);
    const hash = entries()[0];
    expect(log.some((l) => l.includes(` PUT /v1/cache/${hash} 200 `) && l.endsWith(' write'))).toBe(true);

    forgetLocally();
    const laptop = await nxBuild(tokens.read);
    expect(laptop.exitCode, laptop.output).toBe(0);
    expect(laptop.output).toMatch(/nx run app:build {2}\[remote cache\]/);
    expect(readFileSync(join(ws, 'dist/app/out.txt'), 'utf8')).toBe('one\n');
    expect(log.some((l) => l.includes(` GET /v1/cache/${hash} 200 `) && l.endsWith(' read'))).toBe(true);
  }, 60_000);

  it('with the read-only token a changed target runs, and Nx adds nothing: the 403 it gets leaves the run green', async () => {
    await changeInput('two\n');
    const laptop = await nxBuild(tokens.read);
    expect(laptop.exitCode, laptop.output).toBe(0);
    expect(laptop.output).not.toContain('[remote cache]');
    expect(readFileSync(join(ws, 'dist/app/out.txt'), 'utf8')).toBe('two\n');
    expect(entries()).toHaveLength(1);
    expect(log.some((l) => / PUT \/v1\/cache\/\d+ 403 0 \d+ms read$/.test(l))).toBe(true);
  }, 60_000);

  it('with a wrong token Nx stops with the text of the 401', async () => {
    await changeInput('three\n');
    const r = await nxBuild('wrong-token-0123456789abcdef');
    expect(r.exitCode, r.output).not.toBe(0);
    expect(r.output).toContain('Unauthorized: missing or invalid token');
    expect(entries()).toHaveLength(1);
  }, 60_000);

  it('restores a product link as the link it was, from the local and the remote cache: the entry holds the link, not the blob', async () => {
    const links = () =>
      ['dist/linked/big.sif', 'dist/linked-debs/big.deb'].map((p) => (lstatSync(join(ws, p)).isSymbolicLink() ? readlinkSync(join(ws, p)) : 'not a link'));
    const before = new Set(entries());
    const ci = await nxBuild(tokens.write, 'linked:build');
    expect(ci.exitCode, ci.output).toBe(0);
    const added = entries().filter((e) => !before.has(e));
    expect(added).toHaveLength(1);
    expect(statSync(join(root, 'entries', added[0])).size).toBeLessThan(64 * 1024);

    rmSync(join(ws, 'dist'), { recursive: true, force: true });
    const local = await nxBuild(tokens.read, 'linked:build');
    expect(local.output).toMatch(/nx run linked:build {2}\[local cache\]/);
    expect(links()).toEqual([LINK_FROM_DEPTH_2, LINK_FROM_DEPTH_2]);

    forgetLocally();
    const remote = await nxBuild(tokens.read, 'linked:build');
    expect(remote.output).toMatch(/nx run linked:build {2}\[remote cache\]/);
    expect(links()).toEqual([LINK_FROM_DEPTH_2, LINK_FROM_DEPTH_2]);
    expect(readFileSync(join(ws, 'dist/linked/big.sif')).equals(BLOB)).toBe(true);
  }, 60_000);
});
