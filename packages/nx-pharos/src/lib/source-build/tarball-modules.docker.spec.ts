import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, realProduct, removeDir, WORKSPACE } from '../../../e2e/harness';
import { readImageManifest } from '../../products/image';
import type { ModuleLayout } from '../../products/tarball';
import { runContainerCaptured } from '../../tools/docker';
import { layOutTree } from './tarball-build';

const TEMPLATES = join(__dirname, '../../../../../third-party/slurm/tarball');

/**
 * The tarball's Lmod modules (Slurm's and Open MPI's, flat and as the Core/Compiler/MPI hierarchy) loaded by real Lmod
 * in a clean trixie container, from a tree unpacked somewhere else than its build prefix. The view holds empty stand-ins
 * for the files the modules look for (no Open MPI is built here: verify-tarball runs the real one).
 */
describe('tarball modules under real Lmod', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-modules-'));
    for (const layout of ['flat', 'hierarchy'] as const) {
      const stage = join(dir, layout);
      const view = join(stage, 'root/opt/slurm/view');
      for (const d of ['bin', 'lib/slurm', 'share/openmpi']) mkdirSync(join(view, d), { recursive: true });
      for (const f of ['bin/sinfo', 'lib/slurm/libslurmfull.so', 'bin/mpicc', 'share/openmpi/mpicc-wrapper-data.txt']) writeFileSync(join(view, f), '');
      chmodSync(join(view, 'bin/mpicc'), 0o755);
      await layOutTree(stage, TEMPLATES, {
        name: 'slurm',
        version: '24.11.5',
        toolchain: 'trixie',
        variants: [],
        arch: 'x86_64',
        components: [{ name: 'openmpi', version: '5.0.7' }],
        compiler: { name: 'gcc', version: '14.2.0' },
        layout,
      });
    }
    // Prints what a user sees: the modules visible at each step, and the environment openmpi sets.
    writeFileSync(
      join(dir, 'load.sh'),
      [
        'set -e',
        'apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends lmod >/dev/null',
        '. /usr/share/lmod/lmod/init/profile',
        'layout=$1',
        'cp -r /t/$layout/tree /srv/moved',
        'export SLURM_INSTALL_PREFIX=/srv/moved/view',
        'if [ $layout = flat ]; then module use /srv/moved/modules; else module use /srv/moved/modules/Core; fi',
        'echo "visible: $(module -t avail 2>&1 | grep -E "^(slurm|gcc|openmpi)/[0-9]" | sort | tr "\\n" " ")"',
        'module load slurm',
        '[ $layout = flat ] || module load gcc',
        'SLURM_INSTALL_PREFIX=/nowhere module load openmpi 2>&1 | tr "\\n" " " | sed "s/^/wrong prefix: /"; echo',
        'module load openmpi',
        'echo "loaded: $(module -t list 2>&1 | tr "\\n" " ")"',
        'echo "OPAL_PREFIX=$OPAL_PREFIX PRTE_PREFIX=$PRTE_PREFIX mpicc=$(command -v mpicc)"',
        'echo "MODULEPATH=$MODULEPATH"',
      ].join('\n'),
    );
  });
  afterAll(() => removeDir(dir));

  const load = async (layout: ModuleLayout) => {
    const trixie = readImageManifest(join(realProduct('containers/debian-trixie'), 'image.json'), WORKSPACE).id;
    const run = await runContainerCaptured(docker, { image: trixie, cmd: ['sh', '/t/load.sh', layout], binds: [`${dir}:/t:ro`], aptCache: true });
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    return run.stdout;
  };

  it('flat: slurm and openmpi side by side, openmpi pointing Open MPI and PRRTE at the relocated prefix', async () => {
    const out = await load('flat');
    expect(out).toContain('visible: openmpi/5.0.7 slurm/24.11.5 \n');
    expect(out).toMatch(/wrong prefix: .*openmpi\/5\.0\.7: no Open MPI 5\.0\.7 installation at \/nowhere/);
    expect(out).toContain('loaded: slurm/24.11.5 openmpi/5.0.7 ');
    expect(out).toContain('OPAL_PREFIX=/srv/moved/view PRTE_PREFIX=/srv/moved/view mpicc=/srv/moved/view/bin/mpicc');
  });

  it('hierarchy: Core shows slurm and gcc; gcc opens the Compiler level with openmpi, which opens its MPI level', async () => {
    const out = await load('hierarchy');
    expect(out).toContain('visible: gcc/14.2.0 slurm/24.11.5 \n');
    expect(out).toMatch(/wrong prefix: .*no Open MPI 5\.0\.7 installation at \/nowhere/);
    expect(out).toContain('loaded: slurm/24.11.5 gcc/14.2.0 openmpi/5.0.7 ');
    expect(out).toContain('OPAL_PREFIX=/srv/moved/view PRTE_PREFIX=/srv/moved/view mpicc=/srv/moved/view/bin/mpicc');
    expect(out).toContain('MODULEPATH=/srv/moved/modules/MPI/gcc/14.2.0/openmpi/5.0.7:/srv/moved/modules/Compiler/gcc/14.2.0:/srv/moved/modules/Core:');
  });
});
