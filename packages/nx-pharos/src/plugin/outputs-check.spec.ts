import type { ProjectConfiguration } from '@nx/devkit';
import { describe, expect, it } from 'vitest';
import { overlapError, overlappingOutputs, resolveOutput, withDeclaredOutputs } from './outputs-check';

const project = (root: string, targets: ProjectConfiguration['targets']): ProjectConfiguration => ({ root, name: root.split('/').pop(), targets });

describe('resolveOutput', () => {
  it("substitutes Nx's tokens and the target's own options, and cuts a glob to its folder", () => {
    const p = { root: 'third-party/slurm', name: 'slurm' };
    expect(resolveOutput('{workspaceRoot}/dist/{projectRoot}/{options.release}/{options.suite}', p, { release: '24.11.5', suite: 'trixie' })).toBe(
      'dist/third-party/slurm/24.11.5/trixie',
    );
    expect(resolveOutput('{options.outputPath}/base.json', p, { outputPath: 'dist/{projectRoot}/base' })).toBe('dist/third-party/slurm/base/base.json');
    expect(resolveOutput('{workspaceRoot}/dist/{projectName}/*.deb', p, {})).toBe('dist/slurm');
    expect(resolveOutput('{workspaceRoot}/dist/{options.missing}/x', p, {})).toBe('dist');
    expect(resolveOutput('{projectRoot}/./out/', p, {})).toBe('third-party/slurm/out');
  });
});

describe('overlappingOutputs', () => {
  it('finds a configuration of one target writing what another target writes (the deb / deb-bookworm twins)', () => {
    const outputs = ['{workspaceRoot}/dist/{projectRoot}/{options.release}/{options.suite}'];
    const slurm = project('third-party/slurm', {
      deb: { options: { release: '1', suite: 'trixie' }, configurations: { bookworm: { suite: 'bookworm' }, trixie: { suite: 'trixie' } }, outputs },
      'deb-bookworm': { options: { release: '1', suite: 'bookworm' }, outputs },
    });
    const overlaps = overlappingOutputs({ slurm });
    expect(overlaps).toEqual([
      {
        outer: { owner: 'slurm:deb:bookworm', path: 'dist/third-party/slurm/1/bookworm' },
        inner: { owner: 'slurm:deb-bookworm', path: 'dist/third-party/slurm/1/bookworm' },
      },
    ]);
    expect(overlapError(overlaps)?.message).toBe(
      [
        "pharos: two targets declare overlapping outputs; each cached restore of one would overwrite the other's product:",
        '  slurm:deb:bookworm and slurm:deb-bookworm both write dist/third-party/slurm/1/bookworm',
        '  next: give each product exactly one target (dependsOn the target that writes it), or give the outputs distinct paths',
      ].join('\n'),
    );
  });

  it("counts a folder holding another target's file, across projects, in either order", () => {
    const a = project('packer/a', { image: { outputs: ['{workspaceRoot}/dist/{projectRoot}/a.qcow2', '{workspaceRoot}/dist/{projectRoot}/vm-image.json'] } });
    const b = project('packer/b', { 'base-disk': { options: { outputPath: 'dist/packer/a' }, outputs: ['{options.outputPath}'] } });
    const overlaps = overlappingOutputs({ a, b });
    expect(overlaps.map((o) => [o.outer.owner, o.inner.path])).toEqual([
      ['b:base-disk', 'dist/packer/a/a.qcow2'],
      ['b:base-disk', 'dist/packer/a/vm-image.json'],
    ]);
    expect(overlapError(overlaps)?.message).toContain("b:base-disk writes dist/packer/a, which holds a:image's output dist/packer/a/a.qcow2");
  });

  it('accepts sibling paths, one target in several configurations, prefixes that are not folders, and negations', () => {
    const p = project('containers/x', {
      image: { outputs: ['{workspaceRoot}/dist/{projectRoot}/image.tar', '{workspaceRoot}/dist/{projectRoot}/image.json'] },
      sif: { outputs: ['{workspaceRoot}/dist/{projectRoot}/x.sif', '!{workspaceRoot}/dist/{projectRoot}'] },
      tarball: { options: { t: 'a' }, configurations: { b: { t: 'b' } }, outputs: ['{workspaceRoot}/dist/{projectRoot}/tarball-{options.t}'] },
      other: { outputs: ['{workspaceRoot}/dist/{projectRoot}/tarball'] },
      test: {},
    });
    expect(overlappingOutputs({ p })).toEqual([]);
    expect(overlapError([])).toBeUndefined();
  });
});

describe('withDeclaredOutputs', () => {
  it("gives a target without outputs an empty list, so Nx never caches the project's dist folder for it", () => {
    const project = { root: 'containers/x', targets: { image: { outputs: ['{workspaceRoot}/dist/{projectRoot}/image.tar'] }, build: { executor: 'nx:noop' } } };
    expect(withDeclaredOutputs(project)).toEqual({
      root: 'containers/x',
      targets: { image: { outputs: ['{workspaceRoot}/dist/{projectRoot}/image.tar'] }, build: { executor: 'nx:noop', outputs: [] } },
    });
  });
});
