import { execaSync } from 'execa';
import Handlebars from 'handlebars';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../../testing/sh-stubs';
import { tarballName } from '../../products/tarball';
import { RELOCATE_SCRIPT } from '../../tools/relocatable';
import { lastPhase } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';
import {
  compilerModule,
  layOutTree,
  moduleFiles,
  moduleUseDir,
  parseBundled,
  parseCompiler,
  TARBALL_BUILD_SCRIPT,
  tarballBuildArgs,
  tarballBuildEnv,
  tarballFile,
} from './tarball-build';

const TEMPLATES = join(__dirname, '../../../../../third-party/slurm/tarball');

/**
 * tarball-build.sh with the real sh, tar, find, grep and relocate.sh; apt-get, make, patchelf, ldd, dpkg and chown are
 * stand-ins on PATH (the real ones need the suite's container as root). The source's configure records its arguments
 * and `make install` puts a real ELF file (the host's sh) into the tree.
 */
async function build(aptComponents: string[] = [], buildPackages: string[] = [], withComponent = false) {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-tarball-build-'));
  // The main source, and a component's (its configure records its arguments in another file).
  for (const [name, record] of [
    ['slurm-1', 'configured'],
    ['extra-2', 'component-configured'],
  ]) {
    mkdirSync(join(dir, 'src', name), { recursive: true });
    writeFileSync(join(dir, 'src', name, 'configure'), `#!/bin/sh\necho "configure $*" >> ${dir}/${record}\n`);
    execaSync('chmod', ['+x', join(dir, 'src', name, 'configure')]);
    execaSync('tar', ['-C', join(dir, 'src'), '-czf', join(dir, `${name}.tar.gz`), name]);
  }
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
    gcc: 'case "$1" in -print-multiarch) echo x86_64-linux-gnu ;; *) echo 14.2.0 ;; esac',
    dpkg: 'echo "libyaml-0-2:amd64: $3"',
    ldd: ['yaml-0.so.2', 'lz4.so.1', 'nvidia-ml.so.1'].map((l) => `printf '\\tlib${l} => ${dir}/libs/lib${l} (0x1)\\n'`).join('\n'),
    // The main package's install puts an ELF file in sbin; the component's (run from extra-2/) one in lib/extra/.
    make: [
      'case "$1" in install)',
      '  if [ "$(basename "$PWD")" = extra-2 ]; then mkdir -p "${2#DESTDIR=}/opt/slurm/view/lib/extra" && cp /bin/sh "${2#DESTDIR=}/opt/slurm/view/lib/extra/mca_x.so"',
      '  else mkdir -p "${2#DESTDIR=}/opt/slurm/view/sbin" && cp /bin/sh "${2#DESTDIR=}/opt/slurm/view/sbin/slurmctld"; fi ;;',
      'esac',
    ].join('\n'),
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
  const components = withComponent
    ? [{ name: 'extra', tarball: join(dir, 'extra-2.tar.gz'), configureFlags: ['--with-slurm', '--with-x=a b', '--with-pmix=/usr/lib/{multiarch}/pmix2'] }]
    : [];
  const run = await runStubbed(
    TARBALL_BUILD_SCRIPT,
    tarballBuildArgs(['--without-x', '--with-greeting=hello world'], components),
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
    expect(existsSync(join(run.dir, 'component-configured'))).toBe(false);
    expect(parseCompiler(run.stdout, 'the.log')).toEqual({ name: 'gcc', version: '14.2.0' });
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

  it('builds each component after the main install, into the same view, and relocates what it installs elsewhere', async () => {
    const run = await build([], [], true);
    expect(run.exitCode, run.stderr).toBe(0);
    // Its own flags, with spaces kept; the same prefix, and no sysconfdir of the main package's.
    expect(readFileSync(join(run.dir, 'component-configured'), 'utf8')).toBe(
      'configure --prefix=/opt/slurm/view --with-slurm --with-x=a b --with-pmix=/usr/lib/x86_64-linux-gnu/pmix2\n',
    );
    expect(readFileSync(join(run.dir, 'configured'), 'utf8')).toBe(
      'configure --prefix=/opt/slurm/view --sysconfdir=/etc/slurm --without-x --with-greeting=hello world\n',
    );
    const installs = run.calls.filter((c) => c.startsWith('make install'));
    expect(installs).toEqual([`make install DESTDIR=${run.stage}/root`, `make install DESTDIR=${run.stage}/root`]);
    const phases = run.stdout.split('\n').filter((l) => l.startsWith('pharos-phase:'));
    expect(phases.indexOf('pharos-phase: install')).toBeLessThan(phases.indexOf('pharos-phase: extra: configure'));
    expect(phases.slice(-6)).toEqual([
      'pharos-phase: extra: unpack',
      'pharos-phase: extra: configure',
      'pharos-phase: extra: make',
      'pharos-phase: extra: install',
      'pharos-phase: relocate',
      'pharos-phase: bundle',
    ]);
    const view = `${run.stage}/root/opt/slurm/view`;
    // lib/extra/ is two levels below the view: lib and lib/slurm are found from there.
    expect(run.calls).toContain(`patchelf --set-rpath $ORIGIN/../../lib:$ORIGIN/../../lib/slurm ${view}/lib/extra/mca_x.so`);
    expect(run.calls).toContain(`patchelf --set-rpath $ORIGIN/../lib/slurm:$ORIGIN/../lib ${view}/sbin/slurmctld`);
    expect(() => parseCompiler('no marker\n', 'tmp/logs/x.log')).toThrow(PharosError);
  });

  const facts = (layout: 'flat' | 'hierarchy', components = [{ name: 'openmpi', version: '5.0.7' }]) => ({
    name: 'slurm',
    version: '24.11.5',
    toolchain: 'trixie',
    variants: [],
    arch: 'x86_64',
    components,
    compiler: { name: 'gcc', version: '14.2.0' },
    layout,
  });

  it('lays the modules out flat, or as the Core/Compiler/MPI hierarchy, and names the file after what is in it', () => {
    expect(moduleFiles(facts('flat'))).toEqual([
      { path: 'slurm/24.11.5.lua', from: { kind: 'main' } },
      { path: 'openmpi/5.0.7.lua', from: { kind: 'component', name: 'openmpi' } },
    ]);
    expect(moduleFiles(facts('hierarchy'))).toEqual([
      { path: 'Core/slurm/24.11.5.lua', from: { kind: 'main' } },
      { path: 'Core/gcc/14.2.0.lua', from: { kind: 'compiler' } },
      { path: 'Compiler/gcc/14.2.0/openmpi/5.0.7.lua', from: { kind: 'component', name: 'openmpi' }, opens: 'MPI/gcc/14.2.0/openmpi/5.0.7' },
    ]);
    // Without a component (minimal) the hierarchy has nothing above Core.
    expect(moduleFiles(facts('hierarchy', []))).toEqual([{ path: 'Core/slurm/24.11.5.lua', from: { kind: 'main' } }]);
    expect(moduleUseDir('flat')).toBe('modules');
    expect(moduleUseDir('hierarchy')).toBe('modules/Core');
    expect(tarballFile(facts('flat'))).toBe('slurm-24.11.5-trixie-openmpi5.0.7-x86_64-software.tar.gz');
    expect(tarballFile(facts('hierarchy'))).toBe('slurm-24.11.5-trixie-openmpi5.0.7-hierarchy-x86_64-software.tar.gz');
    expect(tarballFile({ ...facts('flat', []), variants: ['minimal'] })).toBe('slurm-24.11.5-trixie-minimal-x86_64-software.tar.gz');
  });

  it("renders Open MPI's module for a relocated prefix, opening the MPI level only in the hierarchy", () => {
    const template = readFileSync(join(TEMPLATES, 'openmpi.lua.hbs'), 'utf8');
    const render = (hierarchy: boolean) =>
      Handlebars.compile(template, { noEscape: true, strict: true })({
        version: '5.0.7',
        mainVersion: '24.11.5',
        toolchain: 'trixie',
        arch: 'x86_64',
        compiler: 'gcc/14.2.0',
        hierarchy,
        opens: hierarchy ? 'MPI/gcc/14.2.0/openmpi/5.0.7' : '',
      });
    const flat = render(false);
    expect(flat).toContain('os.getenv("SLURM_INSTALL_PREFIX") or "/opt/slurm/view"');
    for (const v of ['OPAL_PREFIX', 'PRTE_PREFIX', 'MPI_HOME']) expect(flat).toContain(`setenv("${v}", prefix)`);
    expect(flat).toContain('prepend_path("PATH", pathJoin(prefix, "bin"))');
    expect(flat).toContain('LmodError("openmpi/5.0.7: no Open MPI 5.0.7 installation at "');
    expect(flat).toContain('family("mpi")');
    expect(flat).not.toContain('MODULEPATH');
    const nested = render(true);
    expect(nested).toContain('prepend_path("MODULEPATH", pathJoin(modules, "MPI/gcc/14.2.0/openmpi/5.0.7"))');
    expect(nested).toContain('myFileName():match("^(.*)/Compiler/[^/]+/[^/]+/[^/]+/[^/]+$")');
    const gcc = compilerModule({ name: 'gcc', version: '14.2.0' });
    expect(gcc).toContain('family("compiler")');
    expect(gcc).toContain('prepend_path("MODULEPATH", pathJoin(modules, "Compiler", "gcc", "14.2.0"))');
  });

  it('writes the tree: view, every module of the layout, the empty MPI level, assets and build.env', async () => {
    const stage = mkdtempSync(join(tmpdir(), 'pharos-tarball-tree-'));
    mkdirSync(join(stage, 'root/opt/slurm/view/bin'), { recursive: true });
    const { tree, modules } = await layOutTree(stage, TEMPLATES, facts('hierarchy'));
    expect(modules).toEqual(['modules/Core/slurm/24.11.5.lua', 'modules/Core/gcc/14.2.0.lua', 'modules/Compiler/gcc/14.2.0/openmpi/5.0.7.lua']);
    for (const m of modules) expect(readFileSync(join(tree, m), 'utf8')).toContain('whatis("Version: ');
    expect(readdirSync(join(tree, 'modules/MPI/gcc/14.2.0/openmpi/5.0.7'))).toEqual([]);
    expect(existsSync(join(tree, 'view/bin'))).toBe(true);
    expect(readFileSync(join(tree, 'data/slurm_assets/build.env'), 'utf8')).toContain("COMPONENTS='openmpi/5.0.7'\nMODULE_LAYOUT=hierarchy\n");

    const bare = mkdtempSync(join(tmpdir(), 'pharos-tarball-tree-'));
    mkdirSync(join(bare, 'root/opt/slurm/view'), { recursive: true });
    const templates = mkdtempSync(join(tmpdir(), 'pharos-templates-'));
    writeFileSync(join(templates, 'module.lua.hbs'), '-- {{version}}\n');
    const missing = await layOutTree(bare, templates, facts('flat')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PharosError);
    expect((missing as PharosError).message).toBe('the tarball component openmpi has no module template');
    expect((missing as PharosError).details.file).toBe(join(templates, 'openmpi.lua.hbs'));
  });
});
