import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
