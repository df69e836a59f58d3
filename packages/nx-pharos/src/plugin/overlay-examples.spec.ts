import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stubDir } from '../testing/sh-stubs';
import { parseOverlayTest } from '../definitions/overlay-test';
import { packArgv } from '../tools/mksquashfs';
import { inferDefImageProject, isOverlayDefinition } from './infer-def-image';
import { inferOverlayProject, isOverlayScript, overlayTree } from './infer-overlay';

/**
 * The overlays this repository ships (containers/overlays/), read and inferred as the plugin does, so a mistake in
 * one fails here in a second rather than in the Docker-backed suite: each project's shape, and each test file parses.
 */
const WORKSPACE = resolve(__dirname, '../../../..');
const ROOT = 'containers/overlays';
const files = readdirSync(join(WORKSPACE, ROOT)).flatMap((name) => readdirSync(join(WORKSPACE, ROOT, name)).map((f) => `${ROOT}/${name}/${f}`));
const read = (file: string) => readFileSync(join(WORKSPACE, file), 'utf8');
const containers = Object.fromEntries(
  readdirSync(join(WORKSPACE, 'containers'))
    .filter((name) => existsSync(join(WORKSPACE, 'containers', name, 'Dockerfile')))
    .map((name) => [name, `containers/${name}`]),
);
const tree = overlayTree(
  files.filter((f) => isOverlayScript(f) || isOverlayDefinition(f)),
  Object.values(containers).map((root) => `${root}/Dockerfile`),
  read,
);
const project = (file: string) => (isOverlayDefinition(file) ? inferDefImageProject(file, tree, containers) : inferOverlayProject(file, tree));

describe("the repository's overlays", () => {
  it('all infer, and every test file beside them parses', () => {
    for (const file of files.filter((f) => isOverlayScript(f) || isOverlayDefinition(f))) expect(project(file).name).toBeTruthy();
    for (const file of files.filter((f) => f.endsWith('.test.yaml'))) expect(parseOverlayTest(read(file), file).checks.length).toBeGreaterThan(0);
  });

  it('toy-genome is reference data: 1M blocks, its #DEP on samtools an edge, samtools and htslib mounted', () => {
    const p = project(`${ROOT}/toy-genome/1.0.sh`);
    expect(p.metadata?.pharos).toEqual({
      overlay: { key: 'toy-genome/1.0', type: 'data', deps: [{ project: 'samtools-1.16.1', file: `${ROOT}/toy-genome/1.0.sh`, line: 3 }] },
    });
    expect(p.targets?.overlay.dependsOn).toContainEqual({ projects: ['samtools-1.16.1'], target: 'overlay' });
    expect(p.targets?.overlay.options.deps.map((d: { overlay: string }) => d.overlay)).toEqual(['htslib/1.16', 'samtools/1.16.1']);
    expect(packArgv({ tree: '/t', dest: '/d', type: 'data', processors: 1, compression: '-comp zstd' }).join(' ')).toContain('-b 1M');
  });

  it('site-shell is a .def image on base-tools: its sif target depends on base-tools:sif', () => {
    const p = project(`${ROOT}/site-shell/1.0.def`);
    expect(p.name).toBe('site-shell-1.0');
    expect(p.targets?.sif.dependsOn).toContainEqual({ projects: ['base-tools'], target: 'sif' });
    expect(p.metadata?.pharos).toMatchObject({ overlay: { kind: 'def', deps: [{ project: 'base-tools', line: 4 }] } });
  });

  it("toy-genome's install() makes the FASTA its checks expect, then asks samtools for the index", async () => {
    // The real install.sh under bash, as the build runs it; samtools is a stand-in here (it exists only in its overlay).
    const stubs = stubDir({ samtools: '' });
    const target = join(stubs, 'target');
    mkdirSync(join(stubs, 'tmp'));
    mkdirSync(target);
    const install = readFileSync(join(__dirname, '../executors/overlay/install.sh'), 'utf8');
    const env = { target_dir: target, tmp_dir: join(stubs, 'tmp'), NCPUS: '1', app_name: 'toy-genome', version: '1.0' };
    const r = await execa('bash', ['-c', install, 'pharos-install', join(WORKSPACE, `${ROOT}/toy-genome/1.0.sh`), '/dev/null', 'no network'], {
      reject: false,
      env: { ...env, PATH: `${join(stubs, 'bin')}:${process.env.PATH}` },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(stubs, 'calls.log'), 'utf8')).toBe(`samtools faidx ${target}/genome.fa\n`);

    // What samtools faidx makes of the file: per sequence its length, the offset of its first base, 60 a line.
    const fasta = readFileSync(join(target, 'genome.fa'), 'utf8');
    const sequences = new Map<string, string>();
    const index: string[] = [];
    let offset = 0;
    for (const record of fasta.split('>').slice(1)) {
      const [name, ...lines] = record.split('\n');
      offset += name.length + 2;
      const bases = lines.join('');
      sequences.set(name, bases);
      index.push([name, bases.length, offset, 60, 61].join('\t'));
      offset += record.length - name.length - 1;
      expect(lines.slice(0, -2).every((l) => l.length === 60)).toBe(true);
    }
    const region = (name: string, from: number, to: number) => `>${name}:${from}-${to}\n${sequences.get(name)?.slice(from - 1, to)}`;
    const checks = parseOverlayTest(read(`${ROOT}/toy-genome/1.0.test.yaml`), 'toy-genome/1.0.test.yaml').checks;
    expect(checks.map((c) => c.expectOutput)).toEqual([index.join('\n'), region('chr1', 1, 20), region('chr2', 55, 70)]);
    rmSync(stubs, { recursive: true, force: true });
  });
});
