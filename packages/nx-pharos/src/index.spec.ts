import type { CreateDependenciesContext } from '@nx/devkit';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDependencies } from './plugin/plugin';
import { parseBaseImageDefinition } from './definitions/base-image';
import { inferBaseImageProject } from './plugin/infer-base-image';
import { inferDockerImageProject } from './plugin/infer-docker-image';

describe('createDependencies', () => {
  it('turns FROM <tag> into an edge to the project producing that tag, as Nx passes projects (by name)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pharos-deps-'));
    const write = (file: string, text: string) => {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), text);
    };
    write('containers/debian-trixie/base-image.yaml', 'suite: trixie\n');
    write('tools/dev/Dockerfile', 'ARG SUITE=trixie\nFROM debian:${SUITE}\n');
    write('containers/app/Dockerfile', 'FROM pharos/dev:latest AS b\nFROM b\nFROM debian:unknown\n');
    const projects = {
      'debian-trixie': inferBaseImageProject('containers/debian-trixie/base-image.yaml', parseBaseImageDefinition('suite: trixie\n', 'f')),
      dev: inferDockerImageProject('tools/dev/Dockerfile'),
      app: inferDockerImageProject('containers/app/Dockerfile'),
    };
    const deps = await createDependencies({}, { projects, workspaceRoot: root } as unknown as CreateDependenciesContext);
    expect(deps).toEqual([
      { source: 'dev', target: 'debian-trixie', type: 'static', sourceFile: 'tools/dev/Dockerfile' },
      { source: 'app', target: 'dev', type: 'static', sourceFile: 'containers/app/Dockerfile' },
    ]);
  });

  it('refuses a graph in which two targets write the same output', async () => {
    const outputs = ['{workspaceRoot}/dist/{projectRoot}/{options.suite}'];
    const slurm = {
      root: 'third-party/slurm',
      name: 'slurm',
      targets: { deb: { options: { suite: 'trixie' }, outputs }, 'deb-trixie': { options: { suite: 'trixie' }, outputs } },
    };
    const context = { projects: { slurm }, workspaceRoot: mkdtempSync(join(tmpdir(), 'pharos-deps-')) } as unknown as CreateDependenciesContext;
    await expect(async () => createDependencies({}, context)).rejects.toThrow('slurm:deb and slurm:deb-trixie both write dist/third-party/slurm/trixie');
  });
});
