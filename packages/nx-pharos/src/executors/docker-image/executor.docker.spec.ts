import type { ProjectConfiguration } from '@nx/devkit';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, containerIds, docker, executorContext, filesIn, realProduct, removeDir } from '../../../e2e/harness';
import { inferBaseImageProject } from '../../plugin/infer-base-image';
import { inferDockerImageProject } from '../../plugin/infer-docker-image';
import { parseBaseImageDefinition } from '../../definitions/base-image';
import { tagImage } from '../../tools/docker';
import dockerImageExecutor from './executor';

// Real Docker engine: small images FROM the debian-trixie product the global setup built.
describe('docker-image executor', () => {
  let ws: string;
  const projects: Record<string, ProjectConfiguration> = {};
  const tagOf = (name: string) => `pharos-test/${name}:${process.pid}`;

  function addProject(name: string, dockerfile: string): void {
    const root = `containers/${name}`;
    mkdirSync(join(ws, root), { recursive: true });
    writeFileSync(join(ws, root, 'Dockerfile'), dockerfile);
    const p = inferDockerImageProject(`${root}/Dockerfile`);
    (p.metadata as { pharos: { imageTags: string[] } }).pharos.imageTags = [tagOf(name)];
    projects[name] = p;
  }

  const run = (name: string) => captureOutput(() => dockerImageExecutor({ tag: tagOf(name) }, executorContext(ws, name, 'image', projects)));

  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-docker-image-'));
    mkdirSync(join(ws, 'dist/containers'), { recursive: true });
    symlinkSync(realProduct('containers/debian-trixie'), join(ws, 'dist/containers/debian-trixie'));
    projects['debian-trixie'] = inferBaseImageProject('containers/debian-trixie/base-image.yaml', parseBaseImageDefinition('suite: trixie\n', 'x'));
  });

  afterAll(async () => {
    for (const name of Object.keys(projects))
      await docker
        .getImage(tagOf(name))
        .remove({ force: true })
        .catch(() => undefined);
    removeDir(ws);
  });

  it('builds, saves the archive and writes a manifest that matches the daemon', async () => {
    addProject('hello', 'FROM debian:trixie\nRUN echo hello > /hello\nCMD ["cat", "/hello"]\n');
    const { result, stdout } = await run('hello');
    expect(result.success).toBe(true);
    expect(stdout).toMatch(/Step 2\/\d+ : RUN echo hello/); // progress streamed
    const dir = join(ws, 'dist/containers/hello');
    expect(filesIn(dir).sort()).toEqual(['image.json', 'image.tar']);
    const manifest = JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8'));
    expect((await docker.getImage(tagOf('hello')).inspect()).Id).toBe(manifest.id);
    expect(
      createHash('sha256')
        .update(readFileSync(join(dir, 'image.tar')))
        .digest('hex'),
    ).toBe(manifest.archiveSha256);
    const trixie = JSON.parse(readFileSync(realProduct('containers/debian-trixie/image.json'), 'utf8'));
    expect(manifest.base).toEqual([{ ref: 'debian:trixie', id: trixie.id, source: 'debian-trixie' }]);
  });

  it('loads a base image from its archive when the daemon lacks it', async () => {
    const hello = JSON.parse(readFileSync(join(ws, 'dist/containers/hello/image.json'), 'utf8'));
    await docker.getImage(hello.id).remove({ force: true });
    addProject('on-hello', `FROM ${tagOf('hello')}\nRUN test -f /hello\n`);
    const { result, stdout } = await run('on-hello');
    expect(result.success).toBe(true);
    expect(stdout).toContain('loading hello image from');
    expect((await docker.getImage(hello.id).inspect()).Id).toBe(hello.id);
  });

  it('builds on the image its base project made whatever the tag names now, and leaves the tag alone', async () => {
    const hello = JSON.parse(readFileSync(join(ws, 'dist/containers/hello/image.json'), 'utf8'));
    const trixie = JSON.parse(readFileSync(realProduct('containers/debian-trixie/image.json'), 'utf8'));
    // Another workspace on this daemon points the shared name at an image of its own.
    await tagImage(docker, trixie.id, tagOf('hello'));
    try {
      addProject('pinned', `FROM ${tagOf('hello')}\nRUN test -f /hello\n`);
      const { result, stdout } = await run('pinned');
      expect(result.success, stdout).toBe(true);
      expect(stdout).toContain(`Step 1/3 : FROM ${hello.id}\n`);
      const pinned = JSON.parse(readFileSync(join(ws, 'dist/containers/pinned/image.json'), 'utf8'));
      expect(pinned.base).toEqual([{ ref: tagOf('hello'), id: hello.id, source: 'hello' }]);
      expect((await docker.getImage(tagOf('hello')).inspect()).Id).toBe(trixie.id);
      expect(readFileSync(join(ws, 'containers/pinned/Dockerfile'), 'utf8')).toBe(`FROM ${tagOf('hello')}\nRUN test -f /hello\n`);
    } finally {
      await tagImage(docker, hello.id, tagOf('hello'));
    }
  });

  it('rejects a Dockerfile syntax error with file and line, before the daemon sees it', async () => {
    addProject('bad-syntax', 'FROM debian:trixie\nRUNN echo\n');
    const { result, stderr } = await run('bad-syntax');
    expect(result.success).toBe(false);
    expect(stderr).toContain('pharos: containers/bad-syntax/Dockerfile:2: Dockerfile syntax error: unknown instruction: RUNN');
    expect(filesIn(join(ws, 'dist/containers/bad-syntax'))).toEqual([]);
  });

  it('names the failing RUN step and line, and leaves no product and no container', async () => {
    const before = await containerIds();
    addProject('bad-run', 'FROM debian:trixie\nRUN echo fine\n\nRUN echo about to fail && \\\n    exit 7\n');
    mkdirSync(join(ws, 'dist/containers/bad-run'), { recursive: true });
    writeFileSync(join(ws, 'dist/containers/bad-run/image.json'), '{"stale": true}');
    const { result, stderr } = await run('bad-run');
    expect(result.success).toBe(false);
    expect(stderr).toContain('pharos: containers/bad-run/Dockerfile:4: step 3/');
    expect(stderr).toContain('returned a non-zero code: 7');
    expect(stderr).toContain('about to fail');
    expect(filesIn(join(ws, 'dist/containers/bad-run'))).toEqual([]);
    expect(await containerIds()).toEqual(before);
  });

  it('says how to get a daemon when none answers', async () => {
    addProject('no-daemon', 'FROM debian:trixie\n');
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${join(ws, 'no-such.sock')}`;
    try {
      const { result, stderr } = await run('no-daemon');
      expect(result.success).toBe(false);
      expect(stderr).toMatch(/no Docker daemon answers at unix:\/\/.*no-such\.sock/);
      expect(stderr).toContain('npm run setup');
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
    expect(filesIn(join(ws, 'dist/containers/no-daemon'))).toEqual([]);
  });
});
