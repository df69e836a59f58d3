import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tarballVerifyScript } from '../slurm-verify/executor';
import { parseBundled, tarballBuildScript } from './build-script';
import { tarballName } from '../../products/tarball';

const TEMPLATES = join(__dirname, '../../../../../third-party/slurm/tarball');

describe('relocatable tarball', () => {
  it('builds for /opt/slurm/view with the recipe flags and bundles only what the clean target lacks', () => {
    const request = { name: 'slurm', tarball: '/src/s.tar.gz', stage: '/stage', configureFlags: ['--without-x'], buildPackages: [], aptComponents: [], jobs: 2, presentSonames: '/stage/present', uid: 0, gid: 0 };
    const script = tarballBuildScript(request);
    expect(script).toContain("./configure --prefix=/opt/slurm/view --sysconfdir=/etc/slurm '--without-x'");
    expect(script).toContain('apt-get build-dep -y -q ./');
    expect(script).not.toContain('non-free');
    expect(script).toContain("grep -qx \"$soname\" '/stage/present' && continue");
    // Driver libraries must come from the machine's own GPU driver.
    expect(script).toContain('libnvidia-*|libcuda.so*) continue');
    expect(parseBundled('pharos-bundled:\tliblz4.so.1\tliblz4-1\nnoise\n')).toEqual([{ soname: 'liblz4.so.1', package: 'liblz4-1' }]);
    expect(tarballName('slurm', '24.11.5', 'trixie', 'x86_64')).toBe('slurm-24.11.5-trixie-x86_64-software.tar.gz');
    expect(tarballName('slurm', '24.11.5', 'trixie', 'x86_64', ['gpu', 'minimal'])).toBe('slurm-24.11.5-trixie-gpu-minimal-x86_64-software.tar.gz');
  });

  it("adds a variant's packages after the build dependencies, from the archive components it names", () => {
    const script = tarballBuildScript({ name: 'slurm', tarball: '/src/s.tar.gz', stage: '/stage', configureFlags: ['--with-nvml'], buildPackages: ['libnvidia-ml-dev'], aptComponents: ['contrib', 'non-free'], jobs: 2, presentSonames: '/p', uid: 0, gid: 0 });
    expect(script).toContain("sed -i -E '/^deb(-src)? /s/$/ contrib non-free/' /etc/apt/sources.list");
    expect(script).toContain("s/^(Components:.*)$/\\1 contrib non-free/");
    expect(script.indexOf('contrib non-free')).toBeLessThan(script.indexOf('apt-get update'));
    expect(script).toMatch(/apt-get build-dep -y -q \.\/\napt-get install -y -q --no-install-recommends 'libnvidia-ml-dev'\n/);
  });

  it('renders a module that takes its prefix from SLURM_INSTALL_PREFIX and refuses a wrong one', () => {
    const lua = Handlebars.compile(readFileSync(join(TEMPLATES, 'module.lua.hbs'), 'utf8'), { noEscape: true, strict: true })({ version: '24.11.5', toolchain: 'trixie', arch: 'x86_64' });
    expect(lua).toContain('os.getenv("SLURM_INSTALL_PREFIX") or "/opt/slurm/view"');
    expect(lua).toContain('family("slurm")');
    expect(lua).toContain('LmodError("slurm/24.11.5: no Slurm 24.11.5 installation at "');
    for (const v of ['PATH', 'MANPATH', 'LD_LIBRARY_PATH', 'SLURM_ROOT', 'SLURM_CONF']) expect(lua).toContain(`"${v}"`);
  });

  it('verifies the tarball under another prefix, the wrong-prefix error included', () => {
    const file = 'slurm-24.11.5-trixie-x86_64-software.tar.gz';
    const script = tarballVerifyScript({ file, variants: [] });
    expect(script).toContain('tar -C /srv/relocated/slurm -xzf');
    expect(script).toContain('SLURM_INSTALL_PREFIX=/nonexistent module load slurm');
    expect(script).toContain("PHAROS_SLURMD_ARGS='-d /srv/relocated/slurm/view/sbin/slurmstepd'");
    expect(script).not.toContain('gpgv');
    expect(script).not.toContain('gpu_nvml');
    const signed = tarballVerifyScript({ file, variants: ['gpu'], signature: { file: `${file}.asc`, publicKey: `${file}.pub.asc`, fingerprint: 'F'.repeat(40) } });
    expect(signed).toContain(`gpgv --keyring "$work/keyring.gpg" '/tarball/${file}.asc' '/tarball/${file}'`);
    // The signature is checked before anything is unpacked.
    expect(signed.indexOf('gpgv')).toBeLessThan(signed.indexOf('tar -C'));
    expect(signed).toContain('lib/slurm/gpu_nvml.so');
  });
});
