import { execaSync } from 'execa';
import Handlebars from 'handlebars';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../../testing/sh-stubs';
import { tarballName } from '../../products/tarball';
import { RELOCATE_SCRIPT } from '../../tools/relocatable';
import { lastPhase } from '../../utils/build-log';
import { parseBundled, TARBALL_BUILD_SCRIPT, tarballBuildEnv } from './tarball-build';

const TEMPLATES = join(__dirname, '../../../../../third-party/slurm/tarball');

/**
 * tarball-build.sh with the real sh, tar, find, grep and relocate.sh; apt-get, make, patchelf, ldd, dpkg and chown are
 * stand-ins on PATH (the real ones need the suite's container as root). The source's configure records its arguments
 * and `make install` puts a real ELF file (the host's sh) into the tree.
 */
async function build(aptComponents: string[] = [], buildPackages: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-tarball-build-'));
  mkdirSync(join(dir, 'src/slurm-1'), { recursive: true });
  writeFileSync(join(dir, 'src/slurm-1/configure'), `#!/bin/sh\necho "configure $*" >> ${dir}/configured\n`);
  execaSync('chmod', ['+x', join(dir, 'src/slurm-1/configure')]);
  execaSync('tar', ['-C', join(dir, 'src'), '-czf', join(dir, 'slurm-1.tar.gz'), 'slurm-1']);
  const stage = join(dir, 'stage');
  mkdirSync(stage);
  writeFileSync(join(stage, 'present'), 'libc.so.6\nliblz4.so.1\n');
  mkdirSync(join(dir, 'libs'));
  for (const lib of ['libyaml-0.so.2', 'liblz4.so.1', 'libnvidia-ml.so.1']) writeFileSync(join(dir, 'libs', lib), 'a library\n');
  const stubs = stubDir({
    'apt-get': '',
    patchelf: '',
    chown: '',
    uname: 'echo x86_64',
    dpkg: 'echo "libyaml-0-2:amd64: $3"',
    ldd: ['yaml-0.so.2', 'lz4.so.1', 'nvidia-ml.so.1'].map((l) => `printf '\\tlib${l} => ${dir}/libs/lib${l} (0x1)\\n'`).join('\n'),
    make: `case "$1" in install) mkdir -p "\${2#DESTDIR=}/opt/slurm/view/sbin" && cp /bin/sh "\${2#DESTDIR=}/opt/slurm/view/sbin/slurmctld" ;; esac`,
  });
  const env = tarballBuildEnv({
    name: 'slurm',
    tarball: join(dir, 'slurm-1.tar.gz'),
    stage,
    buildPackages,
    aptComponents,
    jobs: 2,
    presentSonames: join(stage, 'present'),
    uid: 1,
    gid: 2,
  });
  const run = await runStubbed(
    TARBALL_BUILD_SCRIPT,
    ['--without-x', '--with-greeting=hello world'],
    { ...env, WORK_DIR: join(dir, 'build'), RELOCATE_SCRIPT },
    stubs,
  );
  return { ...run, dir, stage };
}

describe('relocatable tarball build', () => {
  it('builds for /opt/<name>/view with the recipe flags and bundles only what the clean target lacks', async () => {
    const run = await build();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(readFileSync(join(run.dir, 'configured'), 'utf8')).toBe(
      'configure --prefix=/opt/slurm/view --sysconfdir=/etc/slurm --without-x --with-greeting=hello world\n',
    );
    expect(run.calls).toContain('apt-get build-dep -y -q ./');
    expect(run.calls).toContain('make -j2');
    // Driver libraries must come from the machine's own GPU driver; liblz4 the clean target has.
    expect(readdirSync(join(run.stage, 'root/opt/slurm/view/lib'))).toEqual(['libyaml-0.so.2']);
    expect(parseBundled(run.stdout)).toEqual([{ soname: 'libyaml-0.so.2', package: 'libyaml-0-2' }]);
    expect(readFileSync(join(run.stage, 'arch'), 'utf8')).toBe('x86_64\n');
    expect(run.calls).toContain(`chown -R 1:2 ${run.stage}`);
    expect(lastPhase(run.stdout)).toBe('bundle');
    expect(parseBundled('pharos-bundled:\tliblz4.so.1\tliblz4-1\nnoise\n')).toEqual([{ soname: 'liblz4.so.1', package: 'liblz4-1' }]);
    expect(tarballName('slurm', '24.11.5', 'trixie', 'x86_64', ['gpu', 'minimal'])).toBe('slurm-24.11.5-trixie-gpu-minimal-x86_64-software.tar.gz');
  });

  it("installs a variant's packages after the build dependencies", async () => {
    const run = await build([], ['libnvidia-ml-dev']);
    expect(run.exitCode, run.stderr).toBe(0);
    const at = run.calls.indexOf('apt-get build-dep -y -q ./');
    expect(run.calls[at + 1]).toBe('apt-get install -y -q --no-install-recommends libnvidia-ml-dev');
  });

  it('renders a module that takes its prefix from SLURM_INSTALL_PREFIX and refuses a wrong one', () => {
    const lua = Handlebars.compile(readFileSync(join(TEMPLATES, 'module.lua.hbs'), 'utf8'), { noEscape: true, strict: true })({
      version: '24.11.5',
      toolchain: 'trixie',
      arch: 'x86_64',
    });
    expect(lua).toContain('os.getenv("SLURM_INSTALL_PREFIX") or "/opt/slurm/view"');
    expect(lua).toContain('family("slurm")');
    expect(lua).toContain('LmodError("slurm/24.11.5: no Slurm 24.11.5 installation at "');
    for (const v of ['PATH', 'MANPATH', 'LD_LIBRARY_PATH', 'SLURM_ROOT', 'SLURM_CONF']) expect(lua).toContain(`"${v}"`);
  });
});
