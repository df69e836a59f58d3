import { execaSync } from 'execa';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerIds, copyWorkspace, filesIn, interruptNx, nx, removeDir } from './harness';

/**
 * BeeGFS's machinery end to end through Nx: the real recipe (third-party/beegfs/recipe.yaml, with upstream's
 * `make package-deb` contract, its extra build packages and its suites), fetch from a mirror, the .debs built in a
 * clean bookworm container, and the services check (setup scripts, daemons on a bridge network with a shared
 * connAuthFile, beegfs-ctl, beegfs-check-servers, a DKMS build against bookworm's kernel headers).
 *
 * The real BeeGFS source cannot be downloaded here (no route to GitHub), so the source is a fixture tree
 * (fixtures/beegfs-src) that honours the same build and run contract with a tiny C program standing in for the
 * daemons and beegfs-ctl. The recipe gains one version that points at it; everything else is the real path.
 */
const FIXTURE = join(__dirname, 'fixtures/beegfs-src');
const ranTasks = (tasks: Map<string, string>) =>
  [...tasks]
    .filter(([, s]) => s === 'ran')
    .map(([t]) => t)
    .sort();

function fixtureTarball(dir: string, version: string, edit?: (tree: string) => void): { file: string; sha256: string } {
  const stage = mkdtempSync(join(tmpdir(), 'pharos-beegfs-fixture-'));
  // Named like a GitHub tag archive: beegfs-<version>/ inside beegfs-<version>.tar.gz.
  cpSync(FIXTURE, join(stage, `beegfs-${version}`), { recursive: true });
  edit?.(join(stage, `beegfs-${version}`));
  const file = `beegfs-${version}.tar.gz`;
  execaSync('tar', ['-C', stage, '--owner=0', '--group=0', '-czf', join(dir, file), `beegfs-${version}`]);
  removeDir(stage);
  return {
    file,
    sha256: createHash('sha256')
      .update(readFileSync(join(dir, file)))
      .digest('hex'),
  };
}

describe('BeeGFS (fixture source, real recipe and machinery)', () => {
  let ws: string;
  let mirror: string;
  let cache: string;
  let env: Record<string, string>;
  const recipeFile = () => join(ws, 'third-party/beegfs/recipe.yaml');
  beforeAll(() => {
    ws = copyWorkspace();
    mirror = mkdtempSync(join(tmpdir(), 'pharos-mirror-'));
    cache = mkdtempSync(join(tmpdir(), 'pharos-cache-'));
    env = { PHAROS_SOURCE_MIRRORS: `file://${mirror}`, PHAROS_CACHE_DIR: cache, PHAROS_SOURCES_CONFIG: join(cache, 'none.yaml') };
  });
  afterAll(() => {
    removeDir(ws);
    removeDir(mirror);
    removeDir(cache);
  });

  it('without a pinned source, records BeeGFS as absent (fetch and deb succeed, loudly), and verify says how to pin it', async () => {
    const deb = await nx(['run', 'beegfs:deb'], ws, env);
    expect(deb.exitCode, deb.output.slice(-3000)).toBe(0);
    expect(deb.output).toContain('pharos: WITHOUT beegfs 7.4.7: no source of beegfs 7.4.7 has a pinned sha256');
    expect(deb.output).toContain('Next: to build beegfs in: npm run pin -- third-party/beegfs/recipe.yaml');
    const release = join(ws, 'dist/third-party/beegfs/7.4.7');
    expect(JSON.parse(readFileSync(join(release, 'source.json'), 'utf8'))).toMatchObject({ available: false, absent: { why: expect.any(String) } });
    expect(filesIn(join(release, 'bookworm'))).toEqual(['debs.json']);
    expect(JSON.parse(readFileSync(join(release, 'bookworm/debs.json'), 'utf8'))).toMatchObject({
      debs: [],
      absent: { next: expect.stringContaining('npm run pin') },
    });

    const verify = await nx(['run', 'beegfs:verify-deb-bookworm'], ws, env);
    expect(verify.exitCode).not.toBe(0);
    expect(verify.output).toContain('beegfs:deb-bookworm built no packages: no source of beegfs 7.4.7 has a pinned sha256');
    expect(verify.output).toContain('npm run pin -- third-party/beegfs/recipe.yaml');

    // Pinning the source (a site pin) changes fetch's key: it runs again and fetches; unpinning gives back the same
    // absent product from the cache, never a silently different one.
    const real = fixtureTarball(mirror, '7.4.7');
    const pinned = { ...env, PHAROS_SOURCES_CONFIG: join(cache, 'pins.yaml') };
    writeFileSync(pinned.PHAROS_SOURCES_CONFIG, `pins:\n  ${real.file}: ${real.sha256}\n`);
    const fetch = await nx(['run', 'beegfs:fetch'], ws, pinned);
    expect(fetch.exitCode, fetch.output.slice(-3000)).toBe(0);
    expect(ranTasks(fetch.tasks)).toEqual(['beegfs:fetch']);
    expect(JSON.parse(readFileSync(join(release, 'source.json'), 'utf8'))).toMatchObject({ available: true, sha256: real.sha256 });
    const unpinned = await nx(['run', 'beegfs:fetch'], ws, env);
    expect(ranTasks(unpinned.tasks)).toEqual([]);
    expect(JSON.parse(readFileSync(join(release, 'source.json'), 'utf8')).available).toBe(false);
  });

  it('fails in seconds when BeeGFS is not optional and no source of the default version can be had', async () => {
    const text = readFileSync(recipeFile(), 'utf8');
    try {
      writeFileSync(recipeFile(), text.replace(/^optional:\n( {2}.*\n)+/m, ''));
      const started = Date.now();
      const run = await nx(['run', 'beegfs:fetch'], ws, env);
      expect(run.exitCode).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(run.output).toContain('no source of beegfs 7.4.7 could be fetched');
      expect(run.output).toContain(`Get beegfs-7.4.7.tar.gz (https://github.com/ThinkParQ/beegfs/archive/refs/tags/7.4.7.tar.gz)`);
      expect(run.output).toContain(`put it in ${cache}/sources/ (or on a mirror in PHAROS_SOURCE_MIRRORS)`);
      expect(run.output).toContain('pins: { beegfs-7.4.7.tar.gz: <sha256sum> }');
    } finally {
      writeFileSync(recipeFile(), text);
    }
  });

  it('builds the .debs with make package-deb and proves them with running services and a DKMS build', async () => {
    const good = fixtureTarball(mirror, '0.1');
    const broken = fixtureTarball(mirror, '0.2', (tree) => {
      for (const f of execaSync('sh', ['-c', 'ls *.c */*.c 2>/dev/null || true'], { cwd: tree }).stdout.split('\n').filter(Boolean)) {
        if (!f.includes('module')) writeFileSync(join(tree, f), 'int main(void) { return undefined_symbol; }\n');
      }
    });
    const pin = (v: string, t: { file: string; sha256: string }) =>
      `  "${v}":\n    sources:\n      - kind: url\n        url: https://upstream.invalid/${t.file}\n        sha256: ${t.sha256}\n`;
    const text = readFileSync(recipeFile(), 'utf8');
    writeFileSync(
      recipeFile(),
      text.replace('defaultVersion: 7.4.7', 'defaultVersion: "0.1"').replace('versions:\n', `versions:\n${pin('0.1', good)}${pin('0.2', broken)}`),
    );

    const run = await nx(['run', 'beegfs:verify'], ws, env);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect(run.output).toContain(`fetch beegfs-0.1.tar.gz from mirror file://${mirror}`);
    expect(run.output).toContain('make package-deb of beegfs 0.1 in debian:bookworm');
    const out = join(ws, 'dist/third-party/beegfs/0.1/bookworm');
    const manifest = JSON.parse(readFileSync(join(out, 'debs.json'), 'utf8'));
    expect(manifest).toMatchObject({ project: 'beegfs', version: '0.1', suite: 'bookworm' });
    // Upstream's versioned builds carry epoch 20.
    expect(manifest.debs.find((d: { package: string }) => d.package === 'beegfs-mgmtd')).toMatchObject({ version: '20:0.1', architecture: 'amd64' });
    for (const line of [
      "installed 6 BeeGFS packages, dkms and the suite's kernel headers",
      'every BeeGFS daemon and tool comes from the packages under test',
      'beegfs-check-servers: management, metadata and storage reachable',
    ])
      expect(run.output).toContain(`pharos-check: ok   ${line}`);
    expect(run.output).toMatch(/pharos-check: ok {3}beegfs-ctl --listnodes --nodetype=storage: beegfs-verify \[ID: 3\]/);
    expect(run.output).toMatch(/pharos-check: ok {3}dkms built the beegfs 0\.1 client module for Linux 6\.1\.\S+-amd64/);

    const again = await nx(['run', 'beegfs:verify'], ws, env);
    expect(again.exitCode, again.output).toBe(0);
    expect(ranTasks(again.tasks)).toEqual([]);
  });

  it('reports a failing build with its log path and last lines, leaving nothing in dist/', async () => {
    const before = await containerIds();
    const run = await nx(['run', 'beegfs:deb', '--release=0.2'], ws, env);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain('pharos: tmp/logs/beegfs-deb-0.2-bookworm.log: beegfs:deb-bookworm: make package-deb: the build stopped in make package-deb');
    expect(run.output).toMatch(/error: .undefined_symbol. undeclared/);
    expect(filesIn(join(ws, 'dist/third-party/beegfs/0.2'))).toEqual([]);
    expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
  });

  it('lists the known versions and suites for unknown ones', async () => {
    const version = await nx(['run', 'beegfs:deb-bookworm', '--release=9.9', '--exclude-task-dependencies'], ws, env);
    expect(version.output).toContain('unknown beegfs version 9.9 (known: 0.1, 0.2, 7.4.7, 8.1.0)');
    // `deb` forwards --suite to each deb-<suite> target, which refuses another suite (its dependencies are cache hits).
    const suite = await nx(['run', 'beegfs:deb', '--suite=trixie'], ws, env);
    expect(suite.exitCode).not.toBe(0);
    expect(suite.output).toContain('beegfs:deb-bookworm builds for bookworm, not --suite=trixie: beegfs is built for bookworm only');
    expect(suite.output).toContain('add trixie to deb.suites once upstream supports its kernel and compilers');
  });

  it('removes the services container when the check is interrupted', async () => {
    const interrupted = await interruptNx(
      ['run', 'beegfs:verify-deb-bookworm', '--skip-nx-cache', '--exclude-task-dependencies'],
      ws,
      /pharos: verifying the \.debs/,
      env,
      3000,
    );
    expect(interrupted.exitCode).not.toBe(0);
    expect(interrupted.leftContainers).toEqual([]);
    expect(existsSync(join(ws, 'dist/third-party/beegfs/0.1/bookworm/debs.json'))).toBe(true);
  });
});
