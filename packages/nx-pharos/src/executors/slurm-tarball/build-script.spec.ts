import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tarballVerifyScript } from '../slurm-verify/executor';
import { parseBundled, tarballBuildScript } from './build-script';
import { tarballName } from './executor';

const TEMPLATES = join(__dirname, '../../../../../third-party/slurm/tarball');

describe('slurm tarball', () => {
  it('builds for /opt/slurm/view with the recipe flags and bundles only what the clean target lacks', () => {
    const script = tarballBuildScript({ tarball: '/src/s.tar.gz', stage: '/stage', configureFlags: ['--without-x'], jobs: 2, presentSonames: '/stage/present', uid: 0, gid: 0 });
    expect(script).toContain("./configure --prefix=/opt/slurm/view --sysconfdir=/etc/slurm '--without-x'");
    expect(script).toContain('apt-get build-dep -y -q ./');
    expect(script).toContain("grep -qx \"$soname\" '/stage/present' && continue");
    expect(parseBundled('pharos-bundled:\tliblz4.so.1\tliblz4-1\nnoise\n')).toEqual([{ soname: 'liblz4.so.1', package: 'liblz4-1' }]);
    expect(tarballName('24.11.5', 'trixie', 'x86_64')).toBe('slurm-24.11.5-trixie-x86_64-software.tar.gz');
  });

  it('renders a module that takes its prefix from SLURM_INSTALL_PREFIX and refuses a wrong one', () => {
    const lua = Handlebars.compile(readFileSync(join(TEMPLATES, 'module.lua.hbs'), 'utf8'), { noEscape: true, strict: true })({ version: '24.11.5', toolchain: 'trixie', arch: 'x86_64' });
    expect(lua).toContain('os.getenv("SLURM_INSTALL_PREFIX") or "/opt/slurm/view"');
    expect(lua).toContain('family("slurm")');
    expect(lua).toContain('LmodError("slurm/24.11.5: no Slurm 24.11.5 installation at "');
    for (const v of ['PATH', 'MANPATH', 'LD_LIBRARY_PATH', 'SLURM_ROOT', 'SLURM_CONF']) expect(lua).toContain(`"${v}"`);
  });

  it('verifies the tarball under another prefix, the wrong-prefix error included', () => {
    const script = tarballVerifyScript('slurm-24.11.5-trixie-x86_64-software.tar.gz');
    expect(script).toContain('tar -C /srv/relocated/slurm -xzf');
    expect(script).toContain('SLURM_INSTALL_PREFIX=/nonexistent module load slurm');
    expect(script).toContain("PHAROS_SLURMD_ARGS='-d /srv/relocated/slurm/view/sbin/slurmstepd'");
  });
});
