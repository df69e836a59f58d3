import { execa, execaSync } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerIds, copyWorkspace, docker, filesIn, interruptNx, makeTestGpgKey, nx, realProduct, removeDir, WORKSPACE } from './harness';
import { runContainerCaptured } from '../src/tools/docker';
import { readImageManifest } from '../src/products/image';

/**
 * The source-build machinery (recipe, fetch, deb, tarball) end to end through Nx, on a fixture source package that
 * honours Slurm's contract: a tarball with upstream's debian/ directory (built by dpkg-buildpackage in a clean
 * container of the suite) and a configure script (the relocatable tarball), linking a library a clean Debian lacks. The real Slurm build takes ~10 minutes and has its own command (npm run test:slurm); the fixture is here
 * because the real sources are the same code path with a bigger tarball.
 */
const FIXTURE = join(__dirname, 'fixtures/hello-src');
const ranTasks = (tasks: Map<string, string>) =>
  [...tasks]
    .filter(([, s]) => s === 'ran')
    .map(([t]) => t)
    .sort();
/** The tasks that built something: without the groups (nx:noop), which run whenever what they group changed. */
const builtTasks = (tasks: Map<string, string>) => ranTasks(tasks).filter((t) => !['hello:build', 'hello:deb'].includes(t));

function tarball(dir: string, name: string, edit?: (tree: string) => void): { file: string; sha256: string } {
  const stage = mkdtempSync(join(tmpdir(), 'pharos-fixture-'));
  cpSync(FIXTURE, join(stage, name), { recursive: true });
  edit?.(join(stage, name));
  const file = `${name}.tar.gz`;
  execaSync('tar', ['-C', stage, '--owner=0', '--group=0', '-czf', join(dir, file), name]);
  removeDir(stage);
  return {
    file,
    sha256: createHash('sha256')
      .update(readFileSync(join(dir, file)))
      .digest('hex'),
  };
}

describe('source builds (fixture package)', () => {
  let ws: string;
  let mirror: string;
  let cache: string;
  let env: Record<string, string>;
  let keys: string;
  const PASSPHRASE = 'a fixture passphrase';
  beforeAll(async () => {
    ws = copyWorkspace();
    mirror = mkdtempSync(join(tmpdir(), 'pharos-mirror-'));
    cache = mkdtempSync(join(tmpdir(), 'pharos-cache-'));
    const good = tarball(mirror, 'hello-1.0');
    const broken = tarball(mirror, 'hello-1.2', (tree) => writeFileSync(join(tree, 'hello.c'), 'int main(void) { return undefined_symbol; }\n'));
    const next = tarball(mirror, 'hello-1.3');
    // A tarball component (as Open MPI is Slurm's): the same program under another name, installed in lib/greet/, so
    // its RUNPATH comes from relocate.sh's pass over folders other than bin, sbin, lib and lib/<name>.
    const greet = tarball(mirror, 'greet-2.0', (tree) =>
      writeFileSync(
        join(tree, 'Makefile'),
        readFileSync(join(tree, 'Makefile'), 'utf8').replace('$(prefix)/bin/pharos-fixture-hello', '$(prefix)/lib/greet/pharos-fixture-greet'),
      ),
    );
    writeFileSync(join(mirror, 'hello-1.1.tar.gz'), 'a tampered tarball\n');
    const source = (file: string, sha256: string) => `      - kind: url\n        url: https://upstream.invalid/${file}\n        sha256: ${sha256}\n`;
    mkdirSync(join(ws, 'third-party/hello'), { recursive: true });
    writeFileSync(
      join(ws, 'third-party/hello/recipe.yaml'),
      [
        'name: hello',
        'defaultVersion: "1.0"',
        'versions:',
        '  "1.0":',
        '    sources:',
        source(good.file, good.sha256).trimEnd(),
        '    configureFlags: [--with-greeting]',
        '  "1.1":',
        '    sources:',
        source('hello-1.1.tar.gz', good.sha256).trimEnd(),
        '  "1.2":',
        '    sources:',
        source(broken.file, broken.sha256).trimEnd(),
        '  "1.3":',
        '    sources:',
        source(next.file, next.sha256).trimEnd(),
        'variants:',
        '  minimal:',
        '    configureFlags: [--without-extras]',
        '    withoutComponents: [greet]',
        'tarball:',
        '  components:',
        '    - name: greet',
        '      version: "2.0"',
        '      sources:',
        source(greet.file, greet.sha256).trimEnd().replace(/^ {6}/gm, '        '),
        '      configureFlags: [--with-component]',
        // One suite keeps the run short: `deb` builds every suite the recipe names.
        'deb:',
        '  suites: [trixie]',
        '',
      ].join('\n'),
    );
    // The tarball's templates: the module and the site assets, as third-party/slurm/tarball has them.
    const templates = join(ws, 'third-party/hello/tarball');
    mkdirSync(join(templates, 'assets'), { recursive: true });
    mkdirSync(join(templates, 'variants/minimal'), { recursive: true });
    writeFileSync(
      join(templates, 'module.lua.hbs'),
      '-- hello {{version}} for {{toolchain}} ({{arch}})\nprepend_path("PATH", pathJoin(os.getenv("HELLO_PREFIX") or "/opt/hello/view", "bin"))\n',
    );
    writeFileSync(join(templates, 'greet.lua.hbs'), '-- greet {{version}} beside hello {{mainVersion}}, built with {{compiler}}\n');
    writeFileSync(join(templates, 'assets/install.sh'), '#!/bin/sh\necho site install\n');
    writeFileSync(join(templates, 'variants/minimal/minimal.conf'), 'extras=no\n');
    keys = mkdtempSync(join(tmpdir(), 'pharos-e2e-gpg-'));
    await makeTestGpgKey(keys, PASSPHRASE);
    env = { PHAROS_SOURCE_MIRRORS: `file://${mirror}`, PHAROS_CACHE_DIR: cache, PHAROS_SOURCES_CONFIG: join(cache, 'none.yaml') };
  });
  afterAll(() => {
    removeDir(ws);
    removeDir(mirror);
    removeDir(cache);
    removeDir(keys);
  });
  const trixie = () => readImageManifest(join(realProduct('containers/debian-trixie'), 'image.json'), WORKSPACE).id;
  const tarballDir = (version: string) => join(ws, `dist/third-party/hello/${version}/tarball-trixie`);
  /** Unpacks a tarball under another prefix in a clean trixie container, offline, and runs the program from there. */
  const runRelocated = (version: string, file: string, program = 'bin/pharos-fixture-hello') =>
    runContainerCaptured(docker, {
      image: trixie(),
      cmd: ['sh', '-c', `mkdir -p /srv/elsewhere && tar -C /srv/elsewhere -xzf /t/${file} && /srv/elsewhere/view/${program}`],
      binds: [`${tarballDir(version)}:/t:ro`],
      network: 'none',
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
    expect(main.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(out, main.file)))
        .digest('hex'),
    );
    // The package holds what the source's own rules installed.
    const listing = await execa('dpkg-deb', ['-c', join(out, main.file)]);
    expect(listing.stdout).toContain('./usr/bin/pharos-fixture-hello');

    const again = await nx(['run', 'hello:build'], ws, env);
    expect(again.exitCode, again.output).toBe(0);
    expect(ranTasks(again.tasks)).toEqual([]);
  });

  it('builds a relocatable tarball that runs unpacked under another prefix, with what the clean suite lacks bundled', async () => {
    const manifest = JSON.parse(readFileSync(join(tarballDir('1.0'), 'tarball.json'), 'utf8'));
    expect(manifest).toMatchObject({
      schema: 1,
      name: 'hello',
      version: '1.0',
      toolchain: 'trixie',
      variants: [],
      file: 'hello-1.0-trixie-greet2.0-x86_64-software.tar.gz',
      configureFlags: ['--with-greeting'],
      components: [{ name: 'greet', version: '2.0', source: { file: 'greet-2.0.tar.gz' }, configureFlags: ['--with-component'] }],
      compiler: { name: 'gcc' },
      modules: { layout: 'flat', files: ['modules/hello/1.0.lua', 'modules/greet/2.0.lua'] },
    });
    expect(manifest.bundled).toContainEqual({ soname: 'libyaml-0.so.2', package: 'libyaml-0-2' });
    expect(manifest.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(tarballDir('1.0'), manifest.file)))
        .digest('hex'),
    );
    const listing = (await execa('tar', ['-tzf', join(tarballDir('1.0'), manifest.file)])).stdout.split('\n');
    for (const f of [
      'view/bin/pharos-fixture-hello',
      'view/lib/libyaml-0.so.2',
      'modules/hello/1.0.lua',
      'view/lib/greet/pharos-fixture-greet',
      'modules/greet/2.0.lua',
      'data/hello_assets/install.sh',
      'data/hello_assets/build.env',
    ]) {
      expect(listing).toContain(f);
    }
    const ran = await runRelocated('1.0', manifest.file);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('hello from a fixture source package');
    expect(ran.stdout).toMatch(/libyaml 0\.2\.\d/);
    expect(ran.stdout).toContain('configured with: --prefix=/opt/hello/view --sysconfdir=/etc/hello --with-greeting');
    // The component, built after it into the same view with its own flags, finds the bundled libyaml from lib/greet/.
    const component = await runRelocated('1.0', manifest.file, 'lib/greet/pharos-fixture-greet');
    expect(component.exitCode, component.stderr).toBe(0);
    expect(component.stdout).toContain('configured with: --prefix=/opt/hello/view --with-component');
    const module = (await execa('tar', ['-xzOf', join(tarballDir('1.0'), manifest.file), 'modules/greet/2.0.lua'])).stdout;
    expect(module).toMatch(/^-- greet 2\.0 beside hello 1\.0, built with gcc\/\d+\.\d+\.\d+$/);
  });

  it('rebuilds only the tarball for a configure-flag change, and fetch, deb and tarball for a new version', async () => {
    const recipeFile = join(ws, 'third-party/hello/recipe.yaml');
    writeFileSync(recipeFile, readFileSync(recipeFile, 'utf8').replace('[--with-greeting]', '[--with-greeting, --with-colour]'));
    const flags = await nx(['run', 'hello:build'], ws, env);
    expect(flags.exitCode, flags.output.slice(-3000)).toBe(0);
    expect(builtTasks(flags.tasks)).toEqual(['hello:tarball']);
    const manifest = JSON.parse(readFileSync(join(tarballDir('1.0'), 'tarball.json'), 'utf8'));
    expect((await runRelocated('1.0', manifest.file)).stdout).toContain('--with-greeting --with-colour');

    writeFileSync(recipeFile, readFileSync(recipeFile, 'utf8').replace('defaultVersion: "1.0"', 'defaultVersion: "1.3"'));
    const version = await nx(['run', 'hello:build'], ws, env);
    expect(version.exitCode, version.output.slice(-3000)).toBe(0);
    expect(builtTasks(version.tasks)).toEqual(['hello:deb-trixie', 'hello:fetch', 'hello:tarball']);
    expect(filesIn(tarballDir('1.3'))).toContain('hello-1.3-trixie-greet2.0-x86_64-software.tar.gz');
    // Back to 1.0: everything comes from the cache.
    writeFileSync(recipeFile, readFileSync(recipeFile, 'utf8').replace('defaultVersion: "1.3"', 'defaultVersion: "1.0"'));
    const back = await nx(['run', 'hello:build'], ws, env);
    expect(builtTasks(back.tasks)).toEqual([]);
  });

  it('builds a variant under its own name with a detached GPG signature, keeping the passphrase out of the output', async () => {
    const unknown = await nx(['run', 'hello:tarball', '--gpu'], ws, env);
    expect(unknown.exitCode).not.toBe(0);
    expect(unknown.output).toContain('pharos: third-party/hello/recipe.yaml: hello has no build variant "gpu" (known: minimal)');

    const noKey = await nx(['run', 'hello:tarball', '--minimal', '--sign'], ws, env);
    expect(noKey.exitCode).not.toBe(0);
    expect(noKey.output).toContain('pharos: sign tarball: signing is on (hello:tarball option "sign") but no signing key was given');
    expect(filesIn(tarballDir('1.0'))).toEqual([]);

    const signed = await nx(['run', 'hello:tarball', '--minimal', '--sign'], ws, {
      ...env,
      PHAROS_GPG_KEY_FILE: join(keys, 'secret.asc'),
      PHAROS_GPG_PASSPHRASE: PASSPHRASE,
    });
    expect(signed.exitCode, signed.output.slice(-3000)).toBe(0);
    expect(signed.output).not.toContain(PASSPHRASE);
    const file = 'hello-1.0-trixie-minimal-x86_64-software.tar.gz';
    expect(filesIn(tarballDir('1.0')).sort()).toEqual([file, `${file}.asc`, `${file}.pub.asc`, 'tarball.json']);
    const manifest = JSON.parse(readFileSync(join(tarballDir('1.0'), 'tarball.json'), 'utf8'));
    expect(manifest).toMatchObject({
      variants: ['minimal'],
      components: [],
      configureFlags: ['--with-greeting', '--with-colour', '--without-extras'],
      signature: { file: `${file}.asc`, publicKey: `${file}.pub.asc` },
    });
    const listing = (await execa('tar', ['-tzf', join(tarballDir('1.0'), file)])).stdout;
    expect(listing).toContain('data/hello_assets/minimal.conf');
    // The variant leaves the component out: neither its files nor its module.
    expect(listing).not.toContain('greet');
    // The default product comes back from the cache.
    const plain = await nx(['run', 'hello:tarball'], ws, env);
    expect(ranTasks(plain.tasks)).toEqual([]);
    expect(filesIn(tarballDir('1.0'))).toContain('hello-1.0-trixie-greet2.0-x86_64-software.tar.gz');
  });

  it('reports a failing tarball compile with its log, and leaves nothing behind on Ctrl-C', async () => {
    const failed = await nx(['run', 'hello:tarball', '--release=1.2'], ws, env);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.output).toContain('pharos: tmp/logs/hello-tarball-1.2-trixie.log: hello:tarball: make: the build stopped in make');
    expect(failed.output).toMatch(/hello\.c:1:25: error: .undefined_symbol. undeclared/);
    expect(filesIn(join(ws, 'dist/third-party/hello/1.2'))).not.toContain('tarball-trixie');

    const interrupted = await interruptNx(
      ['run', 'hello:tarball', '--release=1.3', '--skip-nx-cache', '--exclude-task-dependencies'],
      ws,
      /pharos: toolchain/,
      env,
    );
    expect(interrupted.exitCode).not.toBe(0);
    expect(interrupted.leftContainers).toEqual([]);
    expect(filesIn(join(ws, 'dist/third-party/hello/1.3')).filter((f) => f.includes('tarball'))).toEqual([]);
  });

  it('lists the known versions for an unknown one', async () => {
    const run = await nx(['run', 'hello:deb', '--release=9.9'], ws, env);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain('pharos: third-party/hello/recipe.yaml: unknown hello version 9.9 (known: 1.0, 1.1, 1.2, 1.3)');
    expect(existsSync(join(ws, 'dist/third-party/hello/9.9'))).toBe(false);
  });

  it('refuses a tarball whose digest differs, naming the URL and both digests, and keeps it under its own digest', async () => {
    const run = await nx(['run', 'hello:fetch', '--release=1.1'], ws, env);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toMatch(
      new RegExp(
        `pharos: third-party/hello/recipe\\.yaml:\\d+: fetch hello 1\\.1: hello-1\\.1\\.tar\\.gz from file://${mirror}/hello-1\\.1\\.tar\\.gz does not match its pin: ` +
          `the file is likely bad, e\\.g\\. a truncated or replaced download \\(its sha256 [0-9a-f]{64} never matched a pin in this cache; the pin says [0-9a-f]{64}\\)`,
      ),
    );
    expect(readdirSync(join(cache, 'sources')).filter((f) => /^hello-1\.1\.tar\.gz\.sha256-[0-9a-f]{64}$/.test(f))).toHaveLength(1);
    expect(existsSync(join(cache, 'sources/hello-1.1.tar.gz'))).toBe(false);
  });

  it('reports a failing compile with the log path and its last lines, leaving nothing behind', async () => {
    const before = await containerIds();
    const run = await nx(['run', 'hello:deb-trixie', '--release=1.2'], ws, env);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain('pharos: tmp/logs/hello-deb-1.2-trixie.log: hello:deb-trixie: dpkg-buildpackage: the build stopped in dpkg-buildpackage');
    expect(run.output).toMatch(/hello\.c:1:25: error: .undefined_symbol. undeclared/);
    expect(run.output).toContain('next: read tmp/logs/hello-deb-1.2-trixie.log');
    expect(filesIn(join(ws, 'dist/third-party/hello/1.2'))).toEqual([]);
    expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
  });

  it('leaves no container and no partial output when the build is interrupted', async () => {
    const interrupted = await interruptNx(['run', 'hello:deb-trixie', '--skip-nx-cache', '--exclude-task-dependencies'], ws, /pharos: toolchain/, env);
    expect(interrupted.exitCode).not.toBe(0);
    expect(interrupted.leftContainers).toEqual([]);
    expect(filesIn(join(ws, 'dist/third-party/hello/1.0'))).not.toContain('trixie');
  });
});
