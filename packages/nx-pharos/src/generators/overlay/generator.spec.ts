import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { parseBuildScript } from '../../definitions/build-script';
import { parseOverlayTest } from '../../definitions/overlay-test';
import { overlayTree, inferOverlayProject } from '../../plugin/infer-overlay';
import { DEFAULT_OVERLAY_BASE } from '../../definitions/plugin-options';
import overlayGenerator from './generator';

const HTSLIB = 'containers/overlays/htslib/1.16.sh';

describe('overlay generator', () => {
  it('writes a build script with its #DEP lines and checks of what it installs, which infer as <name>-<version>', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write(HTSLIB, '#!/usr/bin/bash\ninstall() { :; }\n');
    await overlayGenerator(tree, { overlay: 'my-tool/0.1', dep: ['htslib/1.16'] });
    const file = 'containers/overlays/my-tool/0.1.sh';
    const text = tree.read(file, 'utf8') as string;
    const script = parseBuildScript(text, file);
    expect(script.deps.map((d) => [d.name, d.line])).toEqual([['htslib', 2]]);
    expect(script.env.map((e) => [e.key, e.value, e.note])).toEqual([['MY_TOOL_ROOT', '$app_root', 'my-tool install prefix']]);
    expect(script.scheduler.resources).toMatchObject({ cpusPerTask: 1 });
    expect(text).toContain('> "$target_dir/bin/my-tool"');
    const checks = parseOverlayTest(tree.read('containers/overlays/my-tool/0.1.test.yaml', 'utf8') as string, 'x').checks;
    expect(checks).toEqual([
      { name: 'my-tool runs from the overlay and reports its version', command: 'my-tool', expectOutput: 'my-tool 0.1' },
      { name: "MY_TOOL_ROOT is the overlay's prefix", command: 'echo "$MY_TOOL_ROOT"', expectOutput: '/cnt/my-tool/0.1' },
      { name: 'htslib/1.16 is mounted beside it', command: 'test -d /cnt/htslib/1.16 && echo mounted', expectOutput: 'mounted' },
    ]);
    const read = (f: string) => tree.read(f, 'utf8') as string;
    const project = inferOverlayProject(file, overlayTree([HTSLIB, file], [`containers/${DEFAULT_OVERLAY_BASE}/Dockerfile`], read));
    expect(project.name).toBe('my-tool-0.1');
    expect(project.targets?.test?.options.checks).toBe('containers/overlays/my-tool/0.1.test.yaml');
  });

  it('refuses a bad overlay, a missing or self --dep and an existing script, naming what to do', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await expect(overlayGenerator(tree, { overlay: 'tool' })).rejects.toThrow('the overlay "tool" must be <name>/<version>');
    await expect(overlayGenerator(tree, { overlay: '1tool/1.0' })).rejects.toThrow(/must be <name>\/<version>: a name starting with a letter/);
    await expect(overlayGenerator(tree, { overlay: 'tool/1.0', dep: ['htslib/1.16'] })).rejects.toThrow(
      '--dep htslib/1.16: there is no containers/overlays/htslib/1.16.sh (or .def); generate or write it first',
    );
    await overlayGenerator(tree, { overlay: 'tool/1.0' });
    expect(parseBuildScript(tree.read('containers/overlays/tool/1.0.sh', 'utf8') as string, 'x').deps).toEqual([]);
    await expect(overlayGenerator(tree, { overlay: 'tool/1.0' })).rejects.toThrow('containers/overlays/tool/1.0.sh already exists');
    await expect(overlayGenerator(tree, { overlay: 'tool/2.0', dep: ['tool/2.0'] })).rejects.toThrow(
      /no containers\/overlays\/tool\/2.0.sh|cannot depend on itself/,
    );
    tree.write('containers/overlays/site/1.0.def', 'Bootstrap: localimage\n');
    await expect(overlayGenerator(tree, { overlay: 'site/1.0' })).rejects.toThrow('containers/overlays/site/1.0.def already exists');
  });
});
