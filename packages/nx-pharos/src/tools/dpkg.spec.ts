import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { lastPhase } from '../utils/build-log';
import { dpkgBuildScript, parseBuiltDebs, requirementsScript } from './dpkg';

describe('dpkg', () => {
  const req = { tarball: '/src/x.tar.gz', outDir: '/out', jobs: 2, debugSymbols: true, uid: 1000, gid: 1000 };

  it('builds with the dependencies of debian/control and the requested parallelism', () => {
    const script = dpkgBuildScript(req);
    expect(script).toContain('apt-get build-dep -y -q ./');
    expect(script).toContain('dpkg-buildpackage -us -uc -b -j2');
    expect(script).not.toContain('noddebs');
    expect(dpkgBuildScript({ ...req, debugSymbols: false })).toContain('noddebs');
  });

  it("runs upstream's make package-deb with a fresh PACKAGE_DIR, the release, and the documented extra build packages", () => {
    const script = dpkgBuildScript({ ...req, build: 'make-package-deb', versionVariable: 'BEEGFS_VERSION', release: '7.4.7', buildPackages: ['xfslibs-dev', 'uuid-dev'] });
    expect(script).toContain('apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot xfslibs-dev uuid-dev');
    expect(script).toContain('apt-get build-dep -y -q ./');
    expect(script).toContain("make package-deb PACKAGE_DIR=/build/packages DEBUILD_OPTS=-j2 'BEEGFS_VERSION=7.4.7'");
    expect(script).not.toContain('dpkg-buildpackage -us');
    expect(script).not.toContain('-dbg_*');
    expect(dpkgBuildScript({ ...req, build: 'make-package-deb', debugSymbols: false })).toContain('*-dbg_*|*-dbgsym_*) continue');
  });

  it('stops before the build when a required tool is missing or too old, naming each and what needs it', async () => {
    // Run for real with the host's sh and dpkg: the check must pass and fail on actual tools.
    const run = (script: string) => execa('sh', ['-c', `set -eu\n${script}\necho passed`], { reject: false });
    const present = await run(requirementsScript([{ command: 'dpkg', minimum: '1.0', for: 'x', versionCommand: 'dpkg --version' }], 'debian:bookworm'));
    expect(present.stdout).toContain('passed');
    const failed = await run(requirementsScript([
      { command: 'dpkg', minimum: '99.1', for: 'a newer dpkg', versionCommand: 'dpkg --version' },
      { command: 'pharos-no-such-cargo', minimum: '1.94', for: 'mgmtd (beegfs-rust)' },
    ], 'debian:bookworm'));
    expect(failed.exitCode).toBe(4);
    expect(failed.stderr).toContain('the toolchain debian:bookworm lacks what this version needs:');
    expect(failed.stderr).toMatch(/dpkg >= 99\.1 for a newer dpkg: found 1\.\d+/);
    expect(failed.stderr).toContain('pharos-no-such-cargo >= 1.94 for mgmtd (beegfs-rust): not installed');
    expect(requirementsScript([], 'x')).toBe('');
  });

  it('reads the built packages and the phase a build stopped in', () => {
    const out = 'pharos-phase: toolchain\nnoise\npharos-phase: dpkg-buildpackage\npharos-deb:\tx_1_amd64.deb\tx\t1\tamd64\n';
    expect(parseBuiltDebs(out)).toEqual([{ file: 'x_1_amd64.deb', package: 'x', version: '1', architecture: 'amd64' }]);
    expect(lastPhase(out)).toBe('dpkg-buildpackage');
    expect(lastPhase('no markers')).toBeUndefined();
  });
});
