import { execa } from 'execa';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, filesIn, nx, nxEnv, removeDir, sha256sum } from './harness';
import type { OverlayManifest } from '../src/products/overlay';
import type { SifManifest } from '../src/products/sif';

/**
 * The overlays end to end through Nx: htslib from Debian's orig tarball, samtools linked against it (#DEP), the
 * toy-genome reference data indexed by that samtools (#DEP, 1M blocks), each built in the base SIF and tested under
 * apptainer exec; and site-shell, a .def image built by apptainer on base-tools' SIF. The main job (global setup)
 * builds them once, for real; here a copy of the workspace tests them, checks the products against their manifests
 * and each other, then edits samtools' script and sees exactly samtools' and toy-genome's tasks run again (a real
 * rebuild: samtools' compile against the htslib overlay, the index made again by the new samtools), none of htslib's.
 */
const HTSLIB = 'containers/overlays/htslib/1.16.sh';
const SAMTOOLS = 'containers/overlays/samtools/1.16.1.sh';
const TOY_GENOME = 'containers/overlays/toy-genome/1.0.sh';
const SITE_SHELL = 'containers/overlays/site-shell/1.0.def';
const OVERLAY_TASKS = [
  'htslib-1.16:overlay',
  'htslib-1.16:test',
  'samtools-1.16.1:overlay',
  'samtools-1.16.1:test',
  'toy-genome-1.0:overlay',
  'toy-genome-1.0:test',
  'site-shell-1.0:sif',
  'site-shell-1.0:test',
];
const TEST_OVERLAYS = ['run-many', '-t', 'test', '--projects=tag:overlay'];

const ranOf = (tasks: Map<string, string>) => OVERLAY_TASKS.filter((t) => tasks.get(t) === 'ran').sort();
/** Each file of an overlay's product with its content's digest: what must not change when an update fails. */
const PRODUCT = (version: string) => [`${version}.sqf`, `${version}.env`, `${version}.sqf.json`];

describe('overlays (htslib → samtools → toy-genome; site-shell.def)', () => {
  let ws: string;
  const dist = (...parts: string[]) => join(ws, 'dist/containers/overlays', ...parts);
  const manifestOf = (name: string, version: string) => JSON.parse(readFileSync(dist(name, `${version}.sqf.json`), 'utf8')) as OverlayManifest;
  /** The `pharos` command line of the copy (its own source), stdin not a terminal. */
  const pharos = (args: string[], cwd = ws) =>
    execa('node', [join(ws, 'packages/nx-pharos/bin/pharos.cjs'), ...args], { cwd, env: nxEnv(), reject: false, stdin: 'ignore' });
  const productDigests = async (name: string, version: string) => Promise.all(PRODUCT(version).map(async (f) => `${f} ${await sha256sum(dist(name, f))}`));
  /** Nothing a build leaves when it ends, however it ends: no `.new` file beside the product, no scratch tree. */
  const leftovers = (name: string) => [...filesIn(dist(name)).filter((f) => f.includes('.new')), ...filesIn(join(ws, 'tmp/overlay'))];
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeDir(ws));

  it('builds and tests both overlays, samtools reporting the htslib overlay it links against', async () => {
    const run = await nx(TEST_OVERLAYS, ws);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    for (const task of OVERLAY_TASKS) expect(run.tasks.has(task), `${task} in:\n${[...run.tasks.keys()].join('\n')}`).toBe(true);
    // The check's own line, when it ran here rather than coming from the cache.
    if (run.tasks.get('samtools-1.16.1:test') === 'ran')
      expect(run.output).toContain('ok   samtools reports the htslib overlay it was linked with [apptainer]');
    if (run.tasks.get('toy-genome-1.0:test') === 'ran')
      expect(run.output).toContain('ok   samtools faidx reads the first bases of chr1 through the index [apptainer]');
    if (run.tasks.get('site-shell-1.0:test') === 'ran') expect(run.output).toContain('ok   the runscript runs site-info [apptainer]');
  });

  it('packs the reference data with 1M blocks, its FASTA and index inside, on the samtools and htslib it was made with', async () => {
    const genome = manifestOf('toy-genome', '1.0');
    const htslib = manifestOf('htslib', '1.16');
    const samtools = manifestOf('samtools', '1.16.1');
    expect(genome).toMatchObject({ project: 'toy-genome-1.0', overlay: 'toy-genome/1.0', type: 'data', sources: [] });
    expect(genome.mksquashfsArgs.join(' ')).toContain('-b 1M');
    expect(genome.deps).toEqual([
      { overlay: 'htslib/1.16', project: 'htslib-1.16', sha256: htslib.sha256 },
      { overlay: 'samtools/1.16.1', project: 'samtools-1.16.1', sha256: samtools.sha256 },
    ]);
    expect(await sha256sum(dist('toy-genome', genome.sqf))).toBe(genome.sha256);
    expect(genome.script).toEqual({ file: TOY_GENOME, sha256: await sha256sum(join(ws, TOY_GENOME)) });
    expect(readFileSync(dist('toy-genome', '1.0.env'), 'utf8')).toBe("# genome FASTA; genome.fa.fai beside it\nGENOME_FASTA='/cnt/toy-genome/1.0/genome.fa'\n");
    const listing = (await execa('unsquashfs', ['-l', dist('toy-genome', '1.0.sqf')])).stdout;
    expect(listing).toContain('squashfs-root/cnt/toy-genome/1.0/genome.fa');
    expect(listing).toContain('squashfs-root/cnt/toy-genome/1.0/genome.fa.fai');
  });

  it('builds the .def image on the base-tools SIF its From: names, recording both digests in one SIF manifest', async () => {
    const manifest = JSON.parse(readFileSync(dist('site-shell', '1.0.sif.json'), 'utf8')) as SifManifest;
    const base = JSON.parse(readFileSync(join(ws, 'dist/containers/base-tools/base-tools.sif.json'), 'utf8')) as SifManifest;
    expect(manifest).toMatchObject({ schema: 1, project: 'site-shell-1.0', sif: '1.0.sif' });
    expect(manifest.image).toBeUndefined();
    expect(manifest.definition).toEqual({ file: SITE_SHELL, sha256: await sha256sum(join(ws, SITE_SHELL)) });
    expect(manifest.base).toEqual({ project: 'base-tools', sif: 'base-tools.sif', sha256: base.sha256 });
    expect(await sha256sum(dist('site-shell', manifest.sif))).toBe(manifest.sha256);
    expect(statSync(dist('site-shell', manifest.sif)).size).toBe(manifest.bytes);
  });

  it('writes products that agree with their manifests and with each other', async () => {
    const htslib = manifestOf('htslib', '1.16');
    const samtools = manifestOf('samtools', '1.16.1');
    const base = JSON.parse(readFileSync(join(ws, 'dist/containers/overlay-build-base/overlay-build-base.sif.json'), 'utf8')) as SifManifest;
    for (const [m, script] of [
      [htslib, HTSLIB],
      [samtools, SAMTOOLS],
    ] as const) {
      const sqf = dist(m.overlay.split('/')[0], m.sqf);
      expect(await sha256sum(sqf)).toBe(m.sha256);
      expect(statSync(sqf).size).toBe(m.bytes);
      expect(m.script).toEqual({ file: script, sha256: await sha256sum(join(ws, script)) });
      expect(m.base).toEqual({ project: 'overlay-build-base', sif: 'overlay-build-base.sif', sha256: base.sha256 });
      expect(m.mksquashfsArgs).toEqual(expect.arrayContaining(['-keep-as-directory', '-all-root', '-b', '128K']));
    }
    expect(htslib).toMatchObject({ project: 'htslib-1.16', type: 'app', deps: [] });
    expect(htslib.sources).toEqual([{ file: 'htslib_1.16+ds.orig.tar.bz2', sha256: '2d10941e47cf0c05d1496e73e2beaef39e7584eb326367476b12cad04e7794be' }]);
    expect(samtools.deps).toEqual([{ overlay: 'htslib/1.16', project: 'htslib-1.16', sha256: htslib.sha256 }]);
    expect(readFileSync(dist('samtools', '1.16.1.env'), 'utf8')).toBe("# samtools install prefix\nSAMTOOLS_ROOT='/cnt/samtools/1.16.1'\n");
    // The image holds /cnt/<name>/<version>, the binary and the script it was built from.
    const listing = (await execa('unsquashfs', ['-l', dist('samtools', '1.16.1.sqf')])).stdout;
    expect(listing).toContain('squashfs-root/cnt/samtools/1.16.1/bin/samtools');
    expect(listing).toContain('squashfs-root/cnt/samtools/1.16.1/.pharos/build-script.sh');
  });

  it('shows each #DEP as a graph edge whose source file is the script', async () => {
    const file = join(ws, 'tmp/overlay-graph.json');
    const run = await nx(['graph', `--file=${file}`], ws);
    expect(run.exitCode, run.output).toBe(0);
    const deps = JSON.parse(readFileSync(file, 'utf8')).graph.dependencies as Record<string, Array<{ target: string; type: string }>>;
    expect(deps['samtools-1.16.1']).toContainEqual(expect.objectContaining({ target: 'htslib-1.16', type: 'static' }));
    expect(deps['samtools-1.16.1']).toContainEqual(expect.objectContaining({ target: 'overlay-build-base' }));
    expect(deps['toy-genome-1.0']).toContainEqual(expect.objectContaining({ target: 'samtools-1.16.1', type: 'static' }));
    expect(deps['site-shell-1.0']).toContainEqual(expect.objectContaining({ target: 'base-tools', type: 'static' }));
    // The script is its project's root, so an edit of it affects that project.
    const affected = await nx(['show', 'projects', '--affected', `--files=${SAMTOOLS}`], ws);
    expect(affected.output.split('\n').map((l) => l.trim())).toContain('samtools-1.16.1');
    expect(affected.output).not.toContain('htslib-1.16');
  });

  it('refuses a #DEP no script provides, naming the script, the line and the versions there are', async () => {
    const folder = join(ws, 'containers/overlays/bcftools');
    const bad = join(folder, '1.16.sh');
    mkdirSync(folder);
    writeFileSync(bad, '#!/usr/bin/bash\n#WHATIS:x\n#DEP:htslib/1.21>=1.17\ninstall() {\n  true\n}\n');
    try {
      const run = await nx(['show', 'projects'], ws);
      expect(run.exitCode).not.toBe(0);
      expect(run.output).toContain(
        'pharos: containers/overlays/bcftools/1.16.sh:3: #DEP:htslib/1.21>=1.17: no version of htslib from 1.17 up to 1.21 is in the tree; the tree has htslib 1.16',
      );
    } finally {
      rmSync(folder, { recursive: true });
    }
  });

  it('pharos exec runs a tool from the overlays with their environment, offline, in the current folder, and passes its exit code', async () => {
    const here = join(ws, 'tmp/exec-here');
    mkdirSync(here, { recursive: true });
    writeFileSync(join(here, 'mine.txt'), 'a file of mine\n');
    const script = [
      'samtools --version | head -n 2',
      'echo "root=$SAMTOOLS_ROOT"',
      'echo "pwd=$(pwd)"',
      'cat mine.txt',
      // Interfaces of the network namespace: only the loopback without --network.
      "echo \"net=$(sed -n 's/^ *\\([^:]*\\):.*/\\1/p' /proc/net/dev | tr '\\n' ' ')\"",
      'exit 3',
    ].join('; ');
    const r = await pharos(['exec', '-o', 'samtools/1.16.1', '--', 'sh', '-c', script], here);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(3);
    expect(r.stdout).toContain('samtools 1.16.1\nUsing htslib 1.16');
    expect(r.stdout).toContain('root=/cnt/samtools/1.16.1');
    expect(r.stdout).toContain(`pwd=${here}`);
    expect(r.stdout).toContain('a file of mine');
    expect(r.stdout).toContain('net=lo ');
    // Nothing stays held once it has ended.
    expect((await execa('flock', ['--nonblock', '--exclusive', dist('samtools', '1.16.1.sqf'), 'true'], { reject: false })).exitCode).toBe(0);

    const wrong = await pharos(['exec', '-o', 'samtools', '--', 'true']);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('-o takes an overlay as name/version (e.g. samtools/1.16.1), got "samtools"');
  });

  it('refuses to update an overlay while pharos exec holds it, keeping the product, until exec ends', async () => {
    const before = await productDigests('htslib', '1.16');
    const exec = pharos(['exec', '-o', 'samtools/1.16.1', '--', 'sh', '-c', 'echo started; sleep 600']);
    try {
      await new Promise<void>((started, failed) => {
        exec.stdout?.on('data', (d: Buffer) => d.toString().includes('started') && started());
        void exec.then((r) => failed(new Error(`pharos exec ended before its command started:\n${r.stdout}\n${r.stderr}`)));
      });
      // htslib is mounted under samtools, so it is held too.
      const refused = await nx(['run', 'htslib-1.16:overlay', '--skip-nx-cache', '--exclude-task-dependencies'], ws);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.output).toContain(
        'htslib/1.16 is in use: a running `pharos exec` (or an overlay test or build that mounts it) holds dist/containers/overlays/htslib/1.16.sqf',
      );
      expect(refused.output).toContain('next: wait for it to finish, then run again');
      expect(await productDigests('htslib', '1.16')).toEqual(before);
      expect(leftovers('htslib')).toEqual([]);
    } finally {
      exec.kill('SIGTERM');
    }
    expect((await exec).exitCode).toBe(143);
    // Its locks end with it (their holders see their stdin close), so an update may go ahead.
    const free = async () => (await execa('flock', ['--nonblock', '--exclusive', dist('htslib', '1.16.sqf'), 'true'], { reject: false })).exitCode === 0;
    const deadline = Date.now() + 10_000;
    while (!(await free()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await free()).toBe(true);
  });

  it('keeps the current overlay when its update fails, and leaves nothing behind', async () => {
    const before = await productDigests('samtools', '1.16.1');
    const original = readFileSync(join(ws, SAMTOOLS), 'utf8');
    // A later install() replaces the script's own when the script is sourced.
    appendFileSync(join(ws, SAMTOOLS), '\ninstall() {\n    echo "failing on purpose" >&2\n    exit 7\n}\n');
    try {
      const run = await nx(['run', 'samtools-1.16.1:overlay'], ws);
      expect(run.exitCode).not.toBe(0);
      expect(run.output).toContain('install() failed with exit code 7');
      expect(await productDigests('samtools', '1.16.1')).toEqual(before);
      expect(leftovers('samtools')).toEqual([]);
      expect(existsSync(dist('samtools', '1.16.1.sqf.lock'))).toBe(false);
    } finally {
      writeFileSync(join(ws, SAMTOOLS), original);
    }
    expect(readdirSync(dist('samtools')).sort()).toEqual(PRODUCT('1.16.1').sort());
  });

  it('refuses a .def whose From: is no Pharos SIF, naming the file and the line', async () => {
    const folder = join(ws, 'containers/overlays/pulled');
    mkdirSync(folder);
    writeFileSync(join(folder, '1.0.def'), 'Bootstrap: docker\nFrom: debian:trixie\n%post\n    true\n');
    try {
      const run = await nx(['show', 'projects'], ws);
      expect(run.exitCode).not.toBe(0);
      expect(run.output).toContain(
        'pharos: containers/overlays/pulled/1.0.def:1: Bootstrap: docker: a .def here is built on a Pharos SIF (Bootstrap: localimage); the build reaches no registry or archive',
      );
    } finally {
      rmSync(folder, { recursive: true });
    }
  });

  it("rebuilds and re-tests exactly samtools and the data made with it after an edit of samtools' script, never htslib", async () => {
    const before = manifestOf('samtools', '1.16.1');
    appendFileSync(join(ws, SAMTOOLS), '# edited by e2e/overlays.spec.ts\n');
    const run = await nx(TEST_OVERLAYS, ws);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect(ranOf(run.tasks)).toEqual(['samtools-1.16.1:overlay', 'samtools-1.16.1:test', 'toy-genome-1.0:overlay', 'toy-genome-1.0:test']);
    expect(run.tasks.get('htslib-1.16:overlay')).toBe('cache');
    expect(run.tasks.get('site-shell-1.0:sif')).toBe('cache');
    const after = manifestOf('samtools', '1.16.1');
    expect(after.script.sha256).not.toBe(before.script.sha256);
    expect(after.deps).toEqual(before.deps);
    expect(await sha256sum(dist('samtools', after.sqf))).toBe(after.sha256);
    expect(manifestOf('toy-genome', '1.0').deps[1]).toEqual({ overlay: 'samtools/1.16.1', project: 'samtools-1.16.1', sha256: after.sha256 });

    const again = await nx(TEST_OVERLAYS, ws);
    expect(again.exitCode, again.output.slice(-4000)).toBe(0);
    expect(ranOf(again.tasks)).toEqual([]);
  });
});
