import type { ExecutorContext } from '@nx/devkit';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import defSifExecutor from '../../executors/def-sif/executor';
import overlayExecutor from '../../executors/overlay/executor';
import { stubDir } from '../../testing/sh-stubs';
import { probeCacheFile } from './run-as-job';

/**
 * The overlay and def-sif executors with the Slurm engine chosen, through the real Slurm client (tools/slurm.ts). There
 * is no Slurm here: a stub sbatch on PATH records what it is asked and refuses the job as a controller refuses an
 * unknown partition, and the probe's verdict is cached beforehand, so the target's own submission is the first call.
 * Neither executor reaches Docker.
 */

const SCRIPT = 'containers/overlays/htslib/1.16.sh';
const DEFINITION = 'containers/overlays/site-shell/1.0.def';
const BASE = { project: 'overlay-build-base', manifest: 'dist/containers/overlay-build-base/overlay-build-base.sif.json' };

describe('the engine in the overlay and def-sif executors', () => {
  let root: string;
  let stubs: string;
  let stderr: string;
  const saved = { PATH: process.env.PATH, PHAROS_ENGINE: process.env.PHAROS_ENGINE, SLURM_JOB_ID: process.env.SLURM_JOB_ID };

  function contextOf(projectName: string, targetName: string): ExecutorContext {
    return {
      root,
      cwd: root,
      isVerbose: false,
      projectName,
      targetName,
      projectsConfigurations: { version: 2, projects: { [projectName]: { root: SCRIPT } } },
      nxJsonConfiguration: { plugins: ['@pharos/nx-plugin'] },
      projectGraph: { nodes: {}, dependencies: {} },
    };
  }

  function write(file: string, text: string): void {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }

  /** What sbatch was given, one call a line. */
  const sbatchCalls = () => readFileSync(join(stubs, 'calls.log'), 'utf8').split('\n').filter(Boolean);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pharos-engine-wiring-'));
    stubs = stubDir({ sbatch: 'echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2\nexit 1' });
    write(SCRIPT, '#!/usr/bin/bash\n#WHATIS:test\n#SBATCH --cpus-per-task=8\n#SBATCH --mem=2G\n#SBATCH --account=lab\ninstall() {\n    true\n}\n');
    write(DEFINITION, 'Bootstrap: localimage\nFrom: dist/containers/overlay-build-base/overlay-build-base.sif\n');
    const verdict = { visible: true, node: 'c1', jobId: '1', checkedAt: '2025-01-01T00:00:00Z' };
    write(probeCacheFile(root, {}).slice(root.length + 1), JSON.stringify({ [`${root}|`]: verdict, [`${root}|short`]: verdict }));
    process.env.PATH = `${join(stubs, 'bin')}:${saved.PATH}`;
    process.env.PHAROS_ENGINE = 'slurm';
    delete process.env.SLURM_JOB_ID;
    stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => ((stderr += String(t)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(root, { recursive: true, force: true });
    rmSync(stubs, { recursive: true, force: true });
  });

  it("submits an overlay with its script's #SBATCH request, the defaults for the rest, and the target's partition", async () => {
    expect(await overlayExecutor({ script: SCRIPT, base: BASE, partition: 'short' }, contextOf('htslib-1.16', 'overlay'))).toEqual({ success: false });
    const [call] = sbatchCalls();
    expect(call).toMatch(/^sbatch --parsable --job-name=pharos:htslib-1\.16:overlay /);
    for (const arg of ['--partition=short', '--cpus-per-task=8', '--mem=2048M', '--time=60', '--account=lab', `--chdir=${root}`]) {
      expect(call.split(' ')).toContain(arg);
    }
    expect(stderr).toContain(`Slurm refused the job ${root}/tmp/slurm/htslib-1.16_overlay-`);
    expect(stderr).toContain('Invalid partition name specified');
  });

  it('submits a .def image sized by its cpus, memory and time options', async () => {
    const result = await defSifExecutor({ definition: DEFINITION, base: BASE, cpus: 3, time: '2:00:00' }, contextOf('site-shell-1.0', 'sif'));
    expect(result).toEqual({ success: false });
    const args = sbatchCalls()[0].split(' ');
    expect(args).toEqual(expect.arrayContaining(['--job-name=pharos:site-shell-1.0:sif', '--cpus-per-task=3', '--mem=4096M', '--time=120']));
    expect(args.some((a) => a.startsWith('--partition'))).toBe(false);
  });

  it('says what to do when there is no sbatch on PATH', async () => {
    process.env.PATH = stubs; // a folder without sbatch
    expect(await defSifExecutor({ definition: DEFINITION, base: BASE }, contextOf('site-shell-1.0', 'sif'))).toEqual({ success: false });
    expect(stderr).toContain('sbatch is not on PATH, so Pharos cannot run targets as Slurm jobs');
    expect(stderr).toContain('set PHAROS_ENGINE=local');
  });
});
