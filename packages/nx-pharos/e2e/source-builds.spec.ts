import { execa, execaSync } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerIds, copyWorkspace, filesIn, nx, removeDir, startNx } from './harness';

/**
 * The source-build machinery (recipe, fetch, deb) end to end through Nx, on a fixture source package that honours
 * Slurm's contract: a tarball with upstream's debian/ directory, built by dpkg-buildpackage in a clean container of
 * the suite. The real Slurm build takes ~10 minutes and has its own command (npm run test:slurm); the fixture is here
 * because the real sources are the same code path with a bigger tarball.
 */
const FIXTURE = join(__dirname, 'fixtures/hello-src');
const ranTasks = (tasks: Map<string, string>) => [...tasks].filter(([, s]) => s === 'ran').map(([t]) => t).sort();

function tarball(dir: string, name: string, edit?: (tree: string) => void): { file: string; sha256: string } {
  const stage = mkdtempSync(join(tmpdir(), 'pharos-fixture-'));
  cpSync(FIXTURE, join(stage, name), { recursive: true });
  edit?.(join(stage, name));
  const file = `${name}.tar.gz`;
  execaSync('tar', ['-C', stage, '--owner=0', '--group=0', '-czf', join(dir, file), name]);
  removeDir(stage);
  return { file, sha256: createHash('sha256').update(readFileSync(join(dir, file))).digest('hex') };
}

describe('source builds (fixture package)', () => {
  let ws: string;
  let mirror: string;
  let cache: string;
  let env: Record<string, string>;
  beforeAll(() => {
    ws = copyWorkspace();
    mirror = mkdtempSync(join(tmpdir(), 'pharos-mirror-'));
    cache = mkdtempSync(join(tmpdir(), 'pharos-cache-'));
    const good = tarball(mirror, 'hello-1.0');
    const broken = tarball(mirror, 'hello-1.2', (tree) => writeFileSync(join(tree, 'hello.c'), 'int main(void) { return undefined_symbol; }\n'));
    writeFileSync(join(mirror, 'hello-1.1.tar.gz'), 'a tampered tarball\n');
    const source = (file: string, sha256: string) =>
      `      - kind: url\n        url: https://upstream.invalid/${file}\n        sha256: ${sha256}\n`;
    mkdirSync(join(ws, 'third-party/hello'), { recursive: true });
    writeFileSync(join(ws, 'third-party/hello/recipe.yaml'), [
      'name: hello',
      'defaultVersion: "1.0"',
      'versions:',
      '  "1.0":',
      '    sources:',
      source(good.file, good.sha256).trimEnd(),
      '  "1.1":',
      '    sources:',
      source('hello-1.1.tar.gz', good.sha256).trimEnd(),
      '  "1.2":',
      '    sources:',
      source(broken.file, broken.sha256).trimEnd(),
      '',
    ].join('\n'));
    env = { PHAROS_SOURCE_MIRRORS: `file://${mirror}`, PHAROS_CACHE_DIR: cache, PHAROS_SOURCES_CONFIG: join(cache, 'none.yaml') };
  });
  afterAll(() => {
    removeDir(ws);
    removeDir(mirror);
    removeDir(cache);
  });

  it('fetches from a mirror, builds the .debs with dpkg-buildpackage, and is all cache hits the second time', async () => {
    const run = await nx(['run', 'hello:build'], ws, env);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.output).toContain(`fetch hello-1.0.tar.gz from mirror file://${mirror}`);
    const out = join(ws, 'dist/third-party/hello/1.0/trixie');
    const manifest = JSON.parse(readFileSync(join(out, 'debs.json'), 'utf8'));
    expect(manifest).toMatchObject({ schema: 1, project: 'hello', version: '1.0', suite: 'trixie' });
    const main = manifest.debs.find((d: { package: string }) => d.package === 'pharos-fixture-hello');
    expect(main).toMatchObject({ version: '1.0-1', architecture: 'amd64' });
    expect(main.sha256).toBe(createHash('sha256').update(readFileSync(join(out, main.file))).digest('hex'));
    // The package holds what the source's own rules installed.
    const listing = await execa('dpkg-deb', ['-c', join(out, main.file)]);
    expect(listing.stdout).toContain('./usr/bin/pharos-fixture-hello');

    const again = await nx(['run', 'hello:build'], ws, env);
    expect(again.exitCode).toBe(0);
    expect(ranTasks(again.tasks)).toEqual([]);
  });

  it('lists the known versions for an unknown one', async () => {
    const run = await nx(['run', 'hello:deb', '--release=9.9'], ws, env);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain('pharos: third-party/hello/recipe.yaml: unknown hello version 9.9 (known: 1.0, 1.1, 1.2)');
    expect(existsSync(join(ws, 'dist/third-party/hello/9.9'))).toBe(false);
  });

  it('refuses a tarball whose digest differs, naming the URL and both digests, and moves it aside', async () => {
    const run = await nx(['run', 'hello:fetch', '--release=1.1'], ws, env);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toMatch(new RegExp(`file://${mirror}/hello-1.1.tar.gz gave sha256 [0-9a-f]{64}, the recipe pins [0-9a-f]{64}`));
    expect(readdirSync(join(cache, 'sources')).filter((f) => f.startsWith('hello-1.1.tar.gz.bad-'))).toHaveLength(1);
    expect(existsSync(join(cache, 'sources/hello-1.1.tar.gz'))).toBe(false);
  });

  it('reports a failing compile with the log path and its last lines, leaving nothing behind', async () => {
    const before = await containerIds();
    const run = await nx(['run', 'hello:deb', '--release=1.2'], ws, env);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain('pharos: tmp/logs/hello-deb-1.2-trixie.log: hello:deb: dpkg-buildpackage: the build stopped in dpkg-buildpackage');
    expect(run.output).toMatch(/hello\.c:1:25: error: .undefined_symbol. undeclared/);
    expect(run.output).toContain('next: read tmp/logs/hello-deb-1.2-trixie.log');
    expect(filesIn(join(ws, 'dist/third-party/hello/1.2'))).toEqual([]);
    expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
  });

  it('leaves no container and no partial output when the build is interrupted', async () => {
    const before = await containerIds();
    const child = startNx(['run', 'hello:deb', '--skip-nx-cache', '--exclude-task-dependencies'], ws, env);
    let output = '';
    child.all?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const deadline = Date.now() + 120_000;
      while (!/pharos: toolchain/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(output).toContain('pharos: toolchain');
      process.kill(-(child.pid as number), 'SIGINT');
      const result = await child;
      expect(result.exitCode).not.toBe(0);
      await new Promise((r) => setTimeout(r, 2000));
      expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
      expect(filesIn(join(ws, 'dist/third-party/hello/1.0'))).toEqual(['source.json']);
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
      await child.catch(() => undefined);
    }
  });
});
