import { readProjectConfiguration } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { parseContainerDefinition } from '../../definitions/container';
import { baseImages, parseDockerfile } from '../../definitions/dockerfile';
import containerGenerator from './generator';

describe('container generator', () => {
  it('writes a Dockerfile and a container.yaml that parse, with a check for both runtimes', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await containerGenerator(tree, { name: 'gromacs' });
    const dockerfile = parseDockerfile(tree.read('containers/gromacs/Dockerfile', 'utf8') as string);
    expect(dockerfile.errors).toEqual([]);
    expect(baseImages(dockerfile).map((b) => b.ref)).toEqual(['pharos/base-tools:latest']);
    const def = parseContainerDefinition(tree.read('containers/gromacs/container.yaml', 'utf8') as string, 'containers/gromacs/container.yaml');
    expect(def.test.checks).toEqual([{ name: 'the image says who it is', command: 'cat /etc/pharos-container', expectOutput: 'gromacs' }]);
    expect(def.test.runtimes).toEqual(['docker', 'apptainer']);
    // No project.json: the project is inferred from the files.
    expect(() => readProjectConfiguration(tree, 'gromacs')).toThrow();
  });

  it('refuses a bad name and an existing folder', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await expect(containerGenerator(tree, { name: 'Bad Name' })).rejects.toThrow(/lower case/);
    await containerGenerator(tree, { name: 'x', from: 'debian:trixie' });
    expect(tree.read('containers/x/Dockerfile', 'utf8')).toContain('FROM debian:trixie');
    await expect(containerGenerator(tree, { name: 'x' })).rejects.toThrow(/already exists/);
  });
});
