import { execaSync } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../testing/sh-stubs';
import { lastPhase } from '../utils/build-log';
import { buildFromSummary, DPKG_BUILD_SCRIPT, dpkgBuildEnv, parseBuiltDebs, parseBuiltFrom, type DebBuildRequest } from './dpkg';

/**
 * dpkg-build.sh with the real sh, tar and dpkg (for --compare-versions); apt-get, dpkg-buildpackage, make, dpkg-deb and
 * chown are stand-ins on PATH (the real ones need a Debian container as root). The stand-in builders leave .debs
 * where the real ones do.
 */
const BUILDERS = {
  'apt-get': '',
  chown: '',
  'dpkg-buildpackage': 'touch ../pharos-x_1_amd64.deb ../pharos-x-dbgsym_1_amd64.deb',
  make: 'for a in "$@"; do case $a in PACKAGE_DIR=*) mkdir "${a#PACKAGE_DIR=}" && touch "${a#PACKAGE_DIR=}/pharos-x_1_amd64.deb" "${a#PACKAGE_DIR=}/pharos-x-dbg_1_amd64.deb" ;; esac; done',
  'dpkg-deb': 'case $3 in Package) basename "$2" | cut -d_ -f1 ;; Version) echo 1 ;; Architecture) echo amd64 ;; esac',
  useradd: '',
  // Runs the command after its options, as the real one does once it has changed identity.
  setpriv: 'while [ "${1#--}" != "$1" ]; do shift; done; exec "$@"',
  'dpkg-query': 'printf "golang-go\\nhelp2man\\nlibc6\\n"',
  // apt-cache policy's layout: the installed version (***) and the sources that carry it.
  'apt-cache': [
    'cat <<EOF',
    'golang-go:',
    '  Installed: 2:1.27~1',
    ' *** 2:1.27~1 600',
    '        600 http://mirror.example/debian sid/main amd64 Packages',
    '        100 /var/lib/dpkg/status',
    '     2:1.19~1 500',
    '        500 http://mirror.example/debian bookworm/main amd64 Packages',
    'help2man:',
    ' *** 1.49.3 500',
    '        500 http://mirror.example/debian bookworm/main amd64 Packages',
    '        -1 http://mirror.example/debian sid/main amd64 Packages',
    'libc6:',
    ' *** 2.36-9 500',
    '        500 http://mirror.example/debian bookworm/main amd64 Packages',
    'EOF',
  ].join('\n'),
};

function sourceTarball(withControl = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-dpkg-src-'));
  mkdirSync(join(dir, 'x-1/debian'), { recursive: true });
  if (withControl) writeFileSync(join(dir, 'x-1/debian/control'), 'Source: x\n');
  execaSync('tar', ['-C', dir, '-czf', join(dir, 'x-1.tar.gz'), 'x-1']);
  return join(dir, 'x-1.tar.gz');
}

/** Debian's `<package>_<version>.debian.tar.xz` layout: `debian/` at the top. */
function packagingTarball(withControl = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-dpkg-packaging-'));
  mkdirSync(join(dir, 'debian/source'), { recursive: true });
  if (withControl) writeFileSync(join(dir, 'debian/control'), 'Source: x-from-debian\n');
  writeFileSync(join(dir, 'debian/source/format'), '3.0 (quilt)\n');
  execaSync('tar', ['-C', dir, '-cJf', join(dir, 'x_1-2.debian.tar.xz'), 'debian']);
  return join(dir, 'x_1-2.debian.tar.xz');
}

async function build(req: Partial<DebBuildRequest>, tarball = sourceTarball(), builders: Record<string, string> = BUILDERS) {
  const work = mkdtempSync(join(tmpdir(), 'pharos-dpkg-work-'));
  const out = join(work, 'out');
  mkdirSync(out);
  const env = dpkgBuildEnv({ tarball, outDir: out, jobs: 2, debugSymbols: true, uid: 1000, gid: 1000, ...req });
  const aptEtc = join(work, 'etc-apt');
  const run = await runStubbed(DPKG_BUILD_SCRIPT, [], { ...env, WORK_DIR: join(work, 'build'), APT_ETC: aptEtc }, stubDir(builders));
  const read = (f: string) => (existsSync(join(aptEtc, f)) ? readFileSync(join(aptEtc, f), 'utf8') : undefined);
  return {
    ...run,
    out: readdirSync(out).sort(),
    work,
    apt: { list: read('sources.list.d/pharos-build-from.list'), prefs: read('preferences.d/pharos-build-from') },
  };
}

describe('dpkg-build.sh', () => {
  it('builds with the dependencies of debian/control and the requested parallelism, and reports each .deb', async () => {
    const run = await build({});
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.calls).toContain('apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot');
    expect(run.calls).toContain('apt-get build-dep -y -q ./');
    expect(run.calls).toContain('dpkg-buildpackage -us -uc -b -j2');
    expect(run.calls.some((c) => c.startsWith('chown -R 1000:1000 '))).toBe(true);
    expect(run.out).toEqual(['pharos-x-dbgsym_1_amd64.deb', 'pharos-x_1_amd64.deb']);
    expect(parseBuiltDebs(run.stdout)).toContainEqual({ file: 'pharos-x_1_amd64.deb', package: 'pharos-x', version: '1', architecture: 'amd64' });
    expect(lastPhase(run.stdout)).toBe('collect');
  });

  it("runs upstream's make package-deb with a fresh PACKAGE_DIR, the release and the extra build packages, dropping -dbg without debug symbols", async () => {
    const run = await build({
      build: 'make-package-deb',
      versionVariable: 'BEEGFS_VERSION',
      release: '7.4.7',
      buildPackages: ['xfslibs-dev', 'uuid-dev'],
      debugSymbols: false,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.calls).toContain('apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot xfslibs-dev uuid-dev');
    expect(run.calls.find((c) => c.startsWith('make '))).toMatch(/^make package-deb PACKAGE_DIR=\S+\/build\/packages DEBUILD_OPTS=-j2 BEEGFS_VERSION=7\.4\.7$/);
    expect(run.calls.some((c) => c.startsWith('dpkg-buildpackage'))).toBe(false);
    expect(run.out).toEqual(['pharos-x_1_amd64.deb']);
  });

  it("lays the version's packaging tarball over the source's own debian/, and stops when it has no debian/control", async () => {
    // The stand-in builder shows which debian/control it was run with.
    const builders = {
      ...BUILDERS,
      'dpkg-buildpackage': `grep -q x-from-debian debian/control && test -f debian/source/format && ${BUILDERS['dpkg-buildpackage']}`,
    };
    const run = await build({ packagingTarball: packagingTarball() }, sourceTarball(), builders);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.out).toContain('pharos-x_1_amd64.deb');
    // A source without any debian/ is what packaging is for.
    expect((await build({ packagingTarball: packagingTarball() }, sourceTarball(false), builders)).exitCode).toBe(0);
    const bad = await build({ packagingTarball: packagingTarball(false) });
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toContain('the packaging tarball x_1-2.debian.tar.xz has no debian/control');
  });

  it('takes only the named build dependencies from other suites of the archive, and reports what came from them', async () => {
    const buildFrom = [
      { suite: 'sid', packages: ['golang-*', 'tzdata'] },
      { suite: 'bookworm-backports', packages: ['dh-golang'] },
    ];
    const run = await build({ buildFrom, debianMirror: 'http://mirror.example/debian' });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.apt.list).toBe(
      'deb [check-valid-until=no] http://mirror.example/debian sid main\ndeb [check-valid-until=no] http://mirror.example/debian bookworm-backports main\n',
    );
    expect(run.apt.prefs).toContain('Package: golang-* tzdata\nPin: release n=sid\nPin-Priority: 600\n\nPackage: *\nPin: release n=sid\nPin-Priority: -1\n');
    expect(run.apt.prefs).toContain('Package: dh-golang\nPin: release n=bookworm-backports\nPin-Priority: 600\n');
    // help2man's version is also the build suite's own: it did not come from sid.
    expect(parseBuiltFrom(run.stdout)).toEqual({ sid: { 'golang-go': '2:1.27~1' } });
    expect(buildFromSummary(buildFrom)).toBe('sid (golang-*, tzdata), bookworm-backports (dh-golang)');
    const noMirror = await build({ buildFrom });
    expect(noMirror.exitCode).not.toBe(0);
    expect(noMirror.stderr).toContain('BUILD_FROM needs DEBIAN_MIRROR');
    const plain = await build({});
    expect(plain.apt).toEqual({ list: undefined, prefs: undefined });
    expect(parseBuiltFrom(plain.stdout)).toEqual({});
  });

  it("applies the recipe's patches in order after the packaging's own series, and stops on one that does not apply", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-dpkg-patches-'));
    const patch = (name: string, from: string, to: string) => {
      writeFileSync(join(dir, name), `--- a/debian/control\n+++ b/debian/control\n@@ -1 +1 @@\n-${from}\n+${to}\n`);
      return join(dir, name);
    };
    const builders = { ...BUILDERS, 'dpkg-source': '', 'dpkg-buildpackage': `grep -qx 'Source: z' debian/control && ${BUILDERS['dpkg-buildpackage']}` };
    const run = await build({ patches: [patch('1.patch', 'Source: x', 'Source: y'), patch('2.patch', 'Source: y', 'Source: z')] }, sourceTarball(), builders);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.calls).toContain('dpkg-source --before-build .');
    expect(run.stdout).toMatch(/applying 1.patch\n.*\napplying 2.patch/);
    expect(lastPhase(run.stdout)).toBe('collect');
    const bad = await build({ patches: [patch('3.patch', 'Source: nothing-like-it', 'Source: z')] }, sourceTarball(), builders);
    expect(bad.exitCode).not.toBe(0);
    expect(lastPhase(bad.stdout)).toBe('patches');
    expect((await build({}, sourceTarball(), builders)).calls).not.toContain('dpkg-source --before-build .');
  });

  it('runs dpkg-buildpackage as an unprivileged user with fakeroot when asked', async () => {
    const run = await build({ unprivileged: true });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.calls).toContain('useradd --create-home --shell /bin/sh pharos-build');
    expect(run.calls).toContain(`chown -R pharos-build: ${join(run.work, 'build/src')}`);
    expect(run.calls).toContain(
      'setpriv --reuid=pharos-build --regid=pharos-build --init-groups env HOME=/home/pharos-build dpkg-buildpackage -us -uc -b -j2 -rfakeroot',
    );
    expect(run.calls).toContain('dpkg-buildpackage -us -uc -b -j2 -rfakeroot');
    expect(run.out).toContain('pharos-x_1_amd64.deb');
  });

  it('stops when the source has no debian/control', async () => {
    const run = await build({}, sourceTarball(false));
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain(
      "the source tarball has no debian/control: dpkg-buildpackage needs upstream's debian/ directory (or the version's packaging tarball)",
    );
    expect(lastPhase(run.stdout)).toBe('unpack');
  });

  it('stops before the build when a required tool is missing or too old, naming each and what needs it', async () => {
    // The host's real dpkg is the tool checked: the check must pass and fail on an actual version.
    const present = await build({ requires: [{ command: 'dpkg', minimum: '1.0', for: 'x', versionCommand: 'dpkg --version' }] });
    expect(present.exitCode, present.stderr).toBe(0);
    const failed = await build({
      toolchain: 'debian:bookworm',
      requires: [
        { command: 'dpkg', minimum: '99.1', for: 'a newer dpkg', versionCommand: 'dpkg --version' },
        { command: 'pharos-no-such-cargo', minimum: '1.94', for: 'mgmtd (beegfs-rust)' },
      ],
    });
    expect(failed.exitCode).toBe(4);
    expect(failed.stderr).toContain('the toolchain debian:bookworm lacks what this version needs:');
    expect(failed.stderr).toMatch(/dpkg >= 99\.1 for a newer dpkg: found 1\.\d+/);
    expect(failed.stderr).toContain('pharos-no-such-cargo >= 1.94 for mgmtd (beegfs-rust): not installed');
    expect(failed.calls).toEqual([]);
  });

  it('reads the built packages and the phase a build stopped in', () => {
    const out = 'pharos-phase: toolchain\nnoise\npharos-phase: dpkg-buildpackage\npharos-deb:\tx_1_amd64.deb\tx\t1\tamd64\n';
    expect(parseBuiltDebs(out)).toEqual([{ file: 'x_1_amd64.deb', package: 'x', version: '1', architecture: 'amd64' }]);
    expect(lastPhase(out)).toBe('dpkg-buildpackage');
    expect(lastPhase('no markers')).toBeUndefined();
  });
});
