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
});
