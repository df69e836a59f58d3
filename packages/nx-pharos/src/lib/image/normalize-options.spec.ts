import type { ExecutorContext } from '@nx/devkit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  normalizeBaseImageOptions,
  normalizeDevContainerRunOptions,
  normalizeDockerImageOptions,
  normalizeImageTestOptions,
  normalizeSifOptions,
} from './normalize-options';

const ws = mkdtempSync(join(tmpdir(), 'pharos-normalize-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const context = (targetName = 'image'): ExecutorContext =>
  ({
    root: ws,
    cwd: ws,
    isVerbose: false,
    projectName: 'demo',
    targetName,
    projectsConfigurations: { version: 2, projects: { demo: { root: 'containers/demo' } } },
  }) as unknown as ExecutorContext;

describe('image family options', () => {
  it('base-image: output under dist/, the source from the environment before the option', () => {
    const o = normalizeBaseImageOptions({ definition: '{projectRoot}/base-image.yaml' }, context(), {});
    expect(o).toMatchObject({
      project: 'demo',
      label: 'demo:image',
      definitionFile: join(ws, 'containers/demo/base-image.yaml'),
      shownDefinition: 'containers/demo/base-image.yaml',
      source: 'auto',
      outputDir: join(ws, 'dist/containers/demo'),
      products: { archive: join(ws, 'dist/containers/demo/image.tar'), manifest: join(ws, 'dist/containers/demo/image.json') },
    });
    expect(normalizeBaseImageOptions({ definition: 'x', source: 'pull' }, context(), { PHAROS_BASE_IMAGE_SOURCE: 'debootstrap' }).source).toBe('debootstrap');
    expect(() => normalizeBaseImageOptions({ definition: 'x' }, context(), { PHAROS_BASE_IMAGE_SOURCE: 'ftp' })).toThrow(
      /PHAROS_BASE_IMAGE_SOURCE="ftp" is not one of auto, pull, debootstrap/,
    );
  });

  it('docker-image: the Dockerfile and context default to the project folder', () => {
    const o = normalizeDockerImageOptions({ tag: 'pharos/demo:latest' }, context());
    expect(o).toMatchObject({
      dockerfile: join(ws, 'containers/demo/Dockerfile'),
      shownDockerfile: 'containers/demo/Dockerfile',
      contextDir: join(ws, 'containers/demo'),
      buildArgs: {},
      artifacts: [],
      outputDir: join(ws, 'dist/containers/demo'),
    });
  });

  it('sif: named after the project, the dev container by default, and signing says where it was switched on', () => {
    const o = normalizeSifOptions({}, context('sif'));
    expect(o).toMatchObject({
      name: 'demo',
      imageManifest: join(ws, 'dist/containers/demo/image.json'),
      products: { sif: join(ws, 'dist/containers/demo/demo.sif'), manifest: join(ws, 'dist/containers/demo/demo.sif.json') },
      devContainer: 'dev-container',
    });
    expect(o.signing).toBeUndefined();
    expect(normalizeSifOptions({ sign: true }, context('sif')).signing).toEqual({ keyFile: undefined, requiredBy: 'demo:sif option "sign"' });
    expect(normalizeSifOptions({ sign: true, signRequiredBy: 'c.yaml sif.sign', signingKeyFile: 'k.pem' }, context('sif')).signing).toEqual({
      keyFile: 'k.pem',
      requiredBy: 'c.yaml sif.sign',
    });
  });

  it('image-test: docker only without a SIF, both runtimes with one, and the definition adds its checks and runtimes', () => {
    expect(normalizeImageTestOptions({}, context('test'))).toMatchObject({ checks: [], runtimes: ['docker'], devContainer: 'dev-container' });
    expect(normalizeImageTestOptions({ sif: 'dist/{projectRoot}/demo.sif.json' }, context('test'))).toMatchObject({
      runtimes: ['docker', 'apptainer'],
      sifManifest: join(ws, 'dist/containers/demo/demo.sif.json'),
    });
    mkdirSync(join(ws, 'containers/demo'), { recursive: true });
    writeFileSync(join(ws, 'containers/demo/container.yaml'), 'test:\n  runtimes: [apptainer]\n  checks: [{ command: "true" }]\n');
    const o = normalizeImageTestOptions({ definition: '{projectRoot}/container.yaml', checks: [{ command: 'false' }] }, context('test'));
    expect(o.checks.map((c) => c.command)).toEqual(['false', 'true']);
    expect(o.runtimes).toEqual(['apptainer']);
    expect(o.shownDefinition).toBe('containers/demo/container.yaml');
    // A missing container.yaml means no declared checks, not an error.
    expect(normalizeImageTestOptions({ definition: 'nowhere/container.yaml' }, context('test')).checks).toEqual([]);
  });

  it('dev-container-run: a command runs in bash, args as given, with the host uid and workspace in the environment', () => {
    const o = normalizeDevContainerRunOptions({ command: 'make', env: { A: '1' } }, context('run'), 1000);
    expect(o).toMatchObject({
      argv: ['bash', '-c', 'make'],
      cwd: join(ws, 'containers/demo'),
      fuse: false,
      dockerSocket: false,
      devContainer: 'dev-container',
    });
    expect(o.env).toEqual({ PHAROS_WORKSPACE_ROOT: ws, PHAROS_HOST_UID: '1000', A: '1' });
    expect(normalizeDevContainerRunOptions({ args: ['id', '-u'], command: 'ignored' }, context('run'), 0).argv).toEqual(['id', '-u']);
    expect(() => normalizeDevContainerRunOptions({}, context('run'))).toThrow(/set "command" or "args"/);
  });
});
