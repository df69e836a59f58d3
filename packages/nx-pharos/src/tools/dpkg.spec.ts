import { execaSync } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../testing/sh-stubs';
import { lastPhase } from '../utils/build-log';
import { DPKG_BUILD_SCRIPT, dpkgBuildEnv, parseBuiltDebs, type DebBuildRequest } from './dpkg';

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
};

function sourceTarball(withControl = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-dpkg-src-'));
  mkdirSync(join(dir, 'x-1/debian'), { recursive: true });
  if (withControl) writeFileSync(join(dir, 'x-1/debian/control'), 'Source: x\n');
  execaSync('tar', ['-C', dir, '-czf', join(dir, 'x-1.tar.gz'), 'x-1']);
  return join(dir, 'x-1.tar.gz');
}

async function build(req: Partial<DebBuildRequest>, tarball = sourceTarball()) {
  const work = mkdtempSync(join(tmpdir(), 'pharos-dpkg-work-'));
  const out = join(work, 'out');
  mkdirSync(out);
  const env = dpkgBuildEnv({ tarball, outDir: out, jobs: 2, debugSymbols: true, uid: 1000, gid: 1000, ...req });
  const run = await runStubbed(DPKG_BUILD_SCRIPT, [], { ...env, WORK_DIR: join(work, 'build') }, stubDir(BUILDERS));
  return { ...run, out: readdirSync(out).sort() };
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

  it('stops when the source has no debian/control', async () => {
    const run = await build({}, sourceTarball(false));
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain("the source tarball has no debian/control: dpkg-buildpackage needs upstream's debian/ directory");
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
