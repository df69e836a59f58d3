import { describe, expect, it } from 'vitest';
import { parseBaseImageDefinition } from '../definitions/base-image';
import { parseContainerDefinition } from '../definitions/container';
import { dockerImageTag } from './target-inputs';
import { imageProducers } from '../products/image-producers';
import { inferBaseImageProject } from './infer-base-image';
import { inferContainerProject, isApplicationContainer } from './infer-container';
import { inferDockerImageProject } from './infer-docker-image';

describe('inference', () => {
  it('makes a Dockerfile folder an image project with build and test', () => {
    const p = inferDockerImageProject('tools/dev-container/Dockerfile', ['debian-trixie']);
    expect(p.name).toBe('dev-container');
    expect(Object.keys(p.targets ?? {}).sort()).toEqual(['build', 'image', 'sif', 'test']);
    expect(p.targets?.image.dependsOn).toEqual([{ projects: ['debian-trixie'], target: 'image' }]);
    expect(p.targets?.image.outputs).toEqual(['{workspaceRoot}/dist/{projectRoot}/image.tar', '{workspaceRoot}/dist/{projectRoot}/image.json']);
    // The cache key covers the context and the manifests of the images it builds on.
    expect(p.targets?.image.inputs).toContain('{projectRoot}/**/*');
    expect(p.targets?.image.inputs).toContainEqual({ dependentTasksOutputFiles: '**/image.json', transitive: true });
    expect(p.targets?.build.dependsOn).toEqual(['image']);
    // Executor edits change the cache key, so `nx affected` must see the plugin as a dependency too.
    expect(p.implicitDependencies).toEqual(['@pharos/nx-plugin']);
  });

  it('gives the dev container alone a sif target, from its own image, which build leaves out', () => {
    const p = inferDockerImageProject('tools/dev-container/Dockerfile', ['debian-trixie']);
    expect(p.targets?.sif).toMatchObject({
      executor: '@pharos/nx-plugin:sif',
      options: { manifest: 'dist/{projectRoot}/image.json', outputPath: 'dist/{projectRoot}' },
      dependsOn: ['image'],
      cache: true,
    });
    expect(p.targets?.sif.inputs).toContainEqual({ dependentTasksOutputFiles: '**/image.json' });
    expect(p.targets?.sif.inputs).toContain('{workspaceRoot}/packages/nx-pharos/src/executors/sif/schema.json');
    // The name tools/apptainer-host.ts looks for: the sif executor's default, the project's name.
    expect(p.targets?.sif.outputs).toEqual([
      '{workspaceRoot}/dist/{projectRoot}/dev-container.sif',
      '{workspaceRoot}/dist/{projectRoot}/dev-container.sif.json',
      '{workspaceRoot}/dist/{projectRoot}/dev-container.sif.pub.pem',
    ]);
    expect(p.targets?.build.dependsOn).toEqual(['image']);
    expect(inferDockerImageProject('tools/other/Dockerfile').targets?.sif).toBeUndefined();
  });

  it('makes a base-image.yaml folder a base image project keyed by suite and mirror', () => {
    const def = parseBaseImageDefinition('suite: trixie\n', 'containers/debian-trixie/base-image.yaml');
    const p = inferBaseImageProject('containers/debian-trixie/base-image.yaml', def);
    expect(p.name).toBe('debian-trixie');
    expect(p.targets?.image.inputs).toContain('{projectRoot}/base-image.yaml');
    expect(p.targets?.image.inputs).toContainEqual({ runtime: 'node packages/nx-pharos/bin/pharos.cjs debian-mirror' });
    expect(p.targets?.test.options.checks[0].expectOutput).toBe('trixie');
  });

  it('makes containers/<name>/Dockerfile an application container: image, sif, build and test', () => {
    expect(isApplicationContainer('containers/openmpi/Dockerfile')).toBe(true);
    expect(isApplicationContainer('tools/dev-container/Dockerfile')).toBe(false);
    const def = parseContainerDefinition(
      'artifacts: [{ project: slurm, target: deb, files: dist/slurm/*.deb }]\nsif: { compression: gzip }\ntest: { checks: [{ command: "true" }] }\n',
      'containers/openmpi/container.yaml',
    );
    const p = inferContainerProject('containers/openmpi/Dockerfile', def, ['base-tools']);
    expect(p.tags).toEqual(['container']);
    expect(p.implicitDependencies).toEqual(['@pharos/nx-plugin', 'dev-container']);
    expect(Object.keys(p.targets ?? {}).sort()).toEqual(['build', 'image', 'sif', 'test']);
    // The artifact is an ordered dependency and a cache input of the image.
    // FROM producers by name, not ^image: the dev container is a project dependency but not a base image.
    expect(p.targets?.image.dependsOn).toEqual([
      { projects: ['base-tools'], target: 'image' },
      { projects: ['slurm'], target: 'deb' },
    ]);
    expect(p.targets?.image.inputs).toContainEqual({ dependentTasksOutputFiles: 'dist/slurm/*.deb' });
    // container.yaml's test section must not reach the image or SIF keys: only test reads the file.
    expect(p.targets?.image.inputs).toContain('!{projectRoot}/container.yaml');
    expect(JSON.stringify(p.targets?.image.options)).not.toContain('checks');
    expect(JSON.stringify(p.targets?.test.options)).not.toContain('true');
    expect(p.targets?.test.inputs).toContain('{projectRoot}/container.yaml');
    expect(p.targets?.sif.options).toMatchObject({ compression: 'gzip' });
    expect(p.targets?.sif.dependsOn).toEqual(['image', { projects: ['dev-container'], target: 'image' }]);
    expect(p.targets?.sif.outputs).toContain('{workspaceRoot}/dist/{projectRoot}/openmpi.sif');
    expect(p.targets?.test.dependsOn).toEqual(['image', 'sif', { projects: ['dev-container'], target: 'image' }]);
    expect(p.targets?.build.dependsOn).toEqual(['image', 'sif']);
  });

  it('knows which project produces a tag', () => {
    const def = parseBaseImageDefinition('suite: bookworm\n', 'x/base-image.yaml');
    const producers = imageProducers({
      'containers/debian-bookworm': inferBaseImageProject('containers/debian-bookworm/base-image.yaml', def),
      'containers/openmpi': inferDockerImageProject('containers/openmpi/Dockerfile'),
    });
    expect(producers.get('debian:bookworm')).toBe('debian-bookworm');
    expect(producers.get(dockerImageTag('openmpi'))).toBe('openmpi');
  });
});

describe('parseBaseImageDefinition', () => {
  it('names the file and the key it does not know', () => {
    expect(() => parseBaseImageDefinition('suite: trixie\nsuit: x\n', 'a/base-image.yaml')).toThrow(/unknown key "suit"/);
    try {
      parseBaseImageDefinition('suite: trixie\nsuit: x\n', 'a/base-image.yaml');
    } catch (err) {
      expect((err as { format(): string }).format()).toMatch(
        /^pharos: a\/base-image.yaml:2: unknown key "suit" \(known here: distribution, suite, variant, tag, include\)/,
      );
    }
  });
  it('rejects bad suites and distributions, and fills defaults', () => {
    expect(() => parseBaseImageDefinition('suite: "Trixie!"\n', 'f')).toThrow(/suite/);
    expect(() => parseBaseImageDefinition('suite: x\ndistribution: fedora\n', 'f')).toThrow(/unsupported distribution/);
    expect(parseBaseImageDefinition('suite: sid\n', 'f')).toEqual({ distribution: 'debian', suite: 'sid', variant: 'minbase', tag: 'debian:sid', include: [] });
  });
});
