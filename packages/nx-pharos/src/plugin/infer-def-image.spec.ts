import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import type { PharosError } from '../utils/errors';
import { definitionBase, inferDefImageProject, isOverlayDefinition } from './infer-def-image';
import { inferOverlayProject, overlayTree } from './infer-overlay';

const DEF = 'containers/overlays/site-shell/1.0.def';
const DOCKERFILES = ['containers/overlay-build-base/Dockerfile', 'containers/base-tools/Dockerfile'];
const CONTAINERS = { 'base-tools': 'containers/base-tools', 'overlay-build-base': 'containers/overlay-build-base' };
const definition = (header: string) => `${header}\n\n%help\n    A shell for the site.\n%post\n    echo hi > /etc/hi\n`;
const GOOD = definition('Bootstrap: localimage\nFrom: dist/containers/base-tools/base-tools.sif');

function treeOf(files: Record<string, string>) {
  return overlayTree(Object.keys(files), DOCKERFILES, (f) => files[f]);
}
const inferred = (text: string) => inferDefImageProject(DEF, treeOf({ [DEF]: text }), CONTAINERS);

const errorOf = (text: string) => parseError(inferred, text, DEF);

describe('.def image inference', () => {
  it('takes only .def files under containers/overlays/', () => {
    expect(isOverlayDefinition(DEF)).toBe(true);
    expect(isOverlayDefinition('packer/x.def')).toBe(false);
  });

  it('makes a .def the project <name>-<version>: sif, build and test, on the container SIF From: names', () => {
    const p = inferred(GOOD);
    expect(p).toMatchObject({ name: 'site-shell-1.0', root: DEF, tags: ['overlay'] });
    expect(p.metadata?.description).toBe('A shell for the site.');
    expect(p.implicitDependencies).toEqual(['@pharos/nx-plugin', 'dev-container']);
    // The edge to the base is a static one from the From: line.
    expect(p.metadata?.pharos).toEqual({ overlay: { key: 'site-shell/1.0', kind: 'def', deps: [{ project: 'base-tools', file: DEF, line: 2 }] } });
    expect(Object.keys(p.targets ?? {}).sort()).toEqual(['build', 'sif', 'test']);
    const base = { project: 'base-tools', manifest: 'dist/containers/base-tools/base-tools.sif.json' };
    expect(p.targets?.sif).toMatchObject({
      executor: '@pharos/nx-plugin:def-sif',
      options: { definition: DEF, base },
      dependsOn: [
        { projects: ['base-tools'], target: 'sif' },
        { projects: ['dev-container'], target: 'image' },
      ],
      outputs: ['{workspaceRoot}/dist/containers/overlays/site-shell/1.0.sif', '{workspaceRoot}/dist/containers/overlays/site-shell/1.0.sif.json'],
      cache: true,
    });
    // The key: the definition and what it is built on by digest, never the test's checks.
    expect(p.targets?.sif.inputs).toContain(`{workspaceRoot}/${DEF}`);
    expect(p.targets?.sif.inputs).toContainEqual({ dependentTasksOutputFiles: '**/*.sif.json' });
    expect(JSON.stringify(p.targets?.sif.inputs)).not.toContain('test.yaml');
    expect(p.targets?.build).toMatchObject({ dependsOn: ['sif'], inputs: [] });
    expect(p.targets?.test).toMatchObject({
      executor: '@pharos/nx-plugin:def-test',
      options: { definition: DEF, base, checks: 'containers/overlays/site-shell/1.0.test.yaml' },
      dependsOn: ['sif', { projects: ['dev-container'], target: 'image' }],
    });
    expect(p.targets?.test.inputs).toContain('{workspaceRoot}/containers/overlays/site-shell/1.0.test.yaml');
  });

  it('refuses another bootstrap agent and a localimage without From:, at the line', () => {
    const docker = errorOf(definition('Bootstrap: docker\nFrom: debian:trixie'));
    expect([docker.message, docker.details.file, docker.details.line]).toEqual([
      'Bootstrap: docker: a .def here is built on a Pharos SIF (Bootstrap: localimage); the build reaches no registry or archive',
      DEF,
      1,
    ]);
    expect(docker.details.next).toBe(
      "write Bootstrap: localimage and From: <a container's SIF>, one of dist/containers/base-tools/base-tools.sif, dist/containers/overlay-build-base/overlay-build-base.sif",
    );
    expect(errorOf(definition('Bootstrap: localimage')).message).toBe('Bootstrap: localimage names no image: From: is missing');
  });

  it('refuses a From: that is a URI or any path but a container SIF, naming the file and line', () => {
    const uri = errorOf(definition('Bootstrap: localimage\nFrom: library://alpine'));
    expect([uri.message, uri.details.line]).toEqual(['From: library://alpine is a URI, and the build reaches no registry', 2]);
    for (const from of ['/opt/images/base.sif', 'dist/containers/nope/nope.sif', './dist/containers/base-tools/base-tools.sif']) {
      const e = errorOf(definition(`Bootstrap: localimage\n# a comment\nFrom: ${from}`));
      expect([e.message, e.details.file, e.details.line]).toEqual([
        `From: ${from} is not a container project's SIF, so Nx could neither build it first nor key the image on its digest`,
        DEF,
        3,
      ]);
    }
  });

  it('names the containers there are, or says there are none', () => {
    const def = { file: DEF, header: {}, bootstrap: { key: 'bootstrap', value: 'localimage', line: 1 }, sections: [] };
    expect(() => definitionBase(def, {})).toThrow('From: is missing');
    try {
      definitionBase(def, {});
    } catch (err) {
      expect((err as PharosError).details.next).toContain('(none: add containers/<name>/Dockerfile)');
    }
  });

  it("fails on the definition's own parse error, and on a clash with a script of the same name/version", () => {
    expect(errorOf('Bootstrap: localimage\n%files\n  a /a\n').message).toMatch(/^%files:/);
    const clash = treeOf({ [DEF]: GOOD, 'containers/overlays/site-shell/1.0.sh': '#!/bin/bash\ninstall() {\n  true\n}\n' });
    expect(() => inferOverlayProject('containers/overlays/site-shell/1.0.sh', clash)).toThrow('are both site-shell/1.0');
    expect(inferDefImageProject(DEF, clash, CONTAINERS).name).toBe('site-shell-1.0');
  });

  it('refuses a #DEP on a .def image: it is a SIF, not an overlay a build can mount', () => {
    const script = 'containers/overlays/tool/1.0.sh';
    const tree = treeOf({ [DEF]: GOOD, [script]: '#!/bin/bash\n#DEP:site-shell/1.0\ninstall() {\n  true\n}\n' });
    expect(() => inferOverlayProject(script, tree)).toThrow(
      '#DEP:site-shell/1.0: containers/overlays/site-shell/1.0.def is an Apptainer image, not an overlay a build can mount',
    );
  });
});
