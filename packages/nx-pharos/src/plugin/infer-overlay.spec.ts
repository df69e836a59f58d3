import { describe, expect, it } from 'vitest';
import { inferOverlayProject, isOverlayScript, overlayTree } from './infer-overlay';

const SHA = 'a'.repeat(64);
const script = (header: string) => `#!/usr/bin/bash\n${header}\ninstall() {\n  true\n}\n`;
const DOCKERFILES = ['containers/overlay-build-base/Dockerfile', 'containers/base-tools/Dockerfile'];

function treeOf(scripts: Record<string, string>, baseOption?: string, files = DOCKERFILES, answers: string[] = []) {
  const files_ = Object.keys(scripts);
  return overlayTree(files_, files, (f) => scripts[f], baseOption, answers);
}

const HTSLIB = 'containers/overlays/htslib/1.16.sh';
const SAMTOOLS = 'containers/overlays/samtools/1.16.1.sh';
const GOOD = {
  [HTSLIB]: script(`#SRC:debian-orig:htslib/htslib_1.16+ds.orig.tar.bz2 sha256:${SHA}`),
  [SAMTOOLS]: script('#DEP:htslib/1.16\n#SBATCH --cpus-per-task=2'),
  'containers/overlays/ref/1.0.sh': script('#DEP:samtools/1.16.1\n#TYPE:data'),
};

describe('overlay inference', () => {
  it('takes only scripts under containers/overlays/', () => {
    expect(isOverlayScript(HTSLIB)).toBe(true);
    expect(isOverlayScript('tools/dev-container/entrypoint.sh')).toBe(false);
    expect(isOverlayScript('containers/overlays/htslib/1.16.test.yaml')).toBe(false);
  });

  it('makes a script the project <name>-<version>: overlay, build, test, on the base SIF and its #DEP overlays', () => {
    const p = inferOverlayProject(SAMTOOLS, treeOf(GOOD));
    expect(p).toMatchObject({ name: 'samtools-1.16.1', root: SAMTOOLS, tags: ['overlay'] });
    expect(p.implicitDependencies).toEqual(['@pharos/nx-plugin', 'dev-container', 'overlay-build-base']);
    expect(Object.keys(p.targets ?? {}).sort()).toEqual(['build', 'overlay', 'test']);
    expect(p.targets?.overlay.dependsOn).toEqual([
      { projects: ['overlay-build-base'], target: 'sif' },
      { projects: ['dev-container'], target: 'image' },
      { projects: ['htslib-1.16'], target: 'overlay' },
    ]);
    expect(p.targets?.overlay.options).toEqual({
      script: SAMTOOLS,
      base: { project: 'overlay-build-base', manifest: 'dist/containers/overlay-build-base/overlay-build-base.sif.json' },
      deps: [{ overlay: 'htslib/1.16', project: 'htslib-1.16', manifest: 'dist/containers/overlays/htslib/1.16.sqf.json' }],
    });
    expect(p.targets?.overlay.outputs).toEqual([
      '{workspaceRoot}/dist/containers/overlays/samtools/1.16.1.sqf',
      '{workspaceRoot}/dist/containers/overlays/samtools/1.16.1.env',
      '{workspaceRoot}/dist/containers/overlays/samtools/1.16.1.sqf.json',
    ]);
    // The key: the script, and what it is built on by digest; never the test's checks.
    expect(p.targets?.overlay.inputs).toContain(`{workspaceRoot}/${SAMTOOLS}`);
    expect(p.targets?.overlay.inputs).toContainEqual({ dependentTasksOutputFiles: '**/*.sqf.json' });
    expect(p.targets?.overlay.inputs).toContainEqual({ dependentTasksOutputFiles: '**/*.sif.json' });
    expect(JSON.stringify(p.targets?.overlay.inputs)).not.toContain('test.yaml');
    expect(p.targets?.test.options.checks).toBe('containers/overlays/samtools/1.16.1.test.yaml');
    expect(p.targets?.test.inputs).toContain('{workspaceRoot}/containers/overlays/samtools/1.16.1.test.yaml');
    expect(p.targets?.build).toMatchObject({ dependsOn: ['overlay'], inputs: [] });
    expect(p.metadata?.pharos).toEqual({ overlay: { key: 'samtools/1.16.1', type: 'app', deps: [{ project: 'htslib-1.16', file: SAMTOOLS, line: 2 }] } });
  });

  it('mounts the whole #DEP closure, dependencies first, but depends directly only on what its #DEP lines name', () => {
    const p = inferOverlayProject('containers/overlays/ref/1.0.sh', treeOf(GOOD));
    expect(p.targets?.overlay.options.deps.map((d: { overlay: string }) => d.overlay)).toEqual(['htslib/1.16', 'samtools/1.16.1']);
    expect(p.targets?.overlay.dependsOn).toContainEqual({ projects: ['samtools-1.16.1'], target: 'overlay' });
    expect(p.targets?.overlay.dependsOn).not.toContainEqual({ projects: ['htslib-1.16'], target: 'overlay' });
  });

  it('keys a script with #INTERACTIVE: prompts on its answers file, and passes the file only when Nx hashes it', () => {
    const VENDOR = 'containers/overlays/vendor-tool/2.0.sh';
    const ANSWERS = 'containers/overlays/vendor-tool/2.0.answers';
    const scripts = { ...GOOD, [VENDOR]: script('#INTERACTIVE:Licence key') };
    const seen = inferOverlayProject(VENDOR, treeOf(scripts, undefined, DOCKERFILES, [ANSWERS])).targets?.overlay;
    expect(seen?.inputs).toContain(`{workspaceRoot}/${ANSWERS}`);
    expect(seen?.options.answers).toBe(ANSWERS);
    const ignored = inferOverlayProject(VENDOR, treeOf(scripts)).targets?.overlay;
    expect(ignored?.inputs).toContain(`{workspaceRoot}/${ANSWERS}`);
    expect(ignored?.options).not.toHaveProperty('answers');
    // Without prompts, neither: the build reads /dev/null.
    expect(JSON.stringify(inferOverlayProject(HTSLIB, treeOf(GOOD)).targets?.overlay)).not.toContain('.answers');
  });

  it('takes the base from the plugin option, and refuses one that is not a container', () => {
    expect(inferOverlayProject(HTSLIB, treeOf(GOOD, 'base-tools')).implicitDependencies).toContain('base-tools');
    expect(() => inferOverlayProject(HTSLIB, treeOf(GOOD, 'nope'))).toThrow(/no containers\/nope\/Dockerfile/);
    expect(() => inferOverlayProject(HTSLIB, treeOf(GOOD, undefined, []))).toThrow(/default of the plugin option overlayBase/);
  });

  it("fails only the script whose #DEP or header is wrong, with the graph's message", () => {
    const tree = treeOf({ ...GOOD, [SAMTOOLS]: script('#DEP:htslib/1.20>=1.17') });
    expect(() => inferOverlayProject(SAMTOOLS, tree)).toThrow(
      '#DEP:htslib/1.20>=1.17: no version of htslib from 1.17 up to 1.20 is in the tree; the tree has htslib 1.16',
    );
    expect(inferOverlayProject(HTSLIB, tree).name).toBe('htslib-1.16');
    const cycle = treeOf({ [HTSLIB]: script('#DEP:samtools/1.16.1'), [SAMTOOLS]: script('#DEP:htslib/1.16') });
    expect(() => inferOverlayProject(HTSLIB, cycle)).toThrow('#DEP cycle: htslib/1.16 → samtools/1.16.1 → htslib/1.16');
    const broken = treeOf({ ...GOOD, [HTSLIB]: '#!/bin/bash\n#DEP:x\n' });
    expect(() => inferOverlayProject(HTSLIB, broken)).toThrow('#DEP:x names no version');
    // Its name/version still resolves the scripts that need it.
    expect(inferOverlayProject(SAMTOOLS, broken).name).toBe('samtools-1.16.1');
  });
});
