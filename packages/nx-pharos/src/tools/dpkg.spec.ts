import { describe, expect, it } from 'vitest';
import { lastPhase } from '../utils/build-log';
import { dpkgBuildScript, parseBuiltDebs } from './dpkg';

describe('dpkg', () => {
  const req = { tarball: '/src/x.tar.gz', outDir: '/out', jobs: 2, debugSymbols: true, uid: 1000, gid: 1000 };

  it('builds with the dependencies of debian/control and the requested parallelism', () => {
    const script = dpkgBuildScript(req);
    expect(script).toContain('apt-get build-dep -y -q ./');
    expect(script).toContain('dpkg-buildpackage -us -uc -b -j2');
    expect(script).not.toContain('noddebs');
    expect(dpkgBuildScript({ ...req, debugSymbols: false })).toContain('noddebs');
  });

  it('reads the built packages and the phase a build stopped in', () => {
    const out = 'pharos-phase: toolchain\nnoise\npharos-phase: dpkg-buildpackage\npharos-deb:\tx_1_amd64.deb\tx\t1\tamd64\n';
    expect(parseBuiltDebs(out)).toEqual([{ file: 'x_1_amd64.deb', package: 'x', version: '1', architecture: 'amd64' }]);
    expect(lastPhase(out)).toBe('dpkg-buildpackage');
    expect(lastPhase('no markers')).toBeUndefined();
  });
});
