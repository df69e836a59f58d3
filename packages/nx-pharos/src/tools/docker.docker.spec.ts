import Docker from 'dockerode';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerIds, docker, removeDir } from '../../e2e/harness';
import { spawnSync } from 'node:child_process';
import { PharosError } from '../utils/errors';
import { currentOwner, ownerLabels, reapOrphans, workspaceId, type ContainerOwner } from './container-owner';
import { assertDaemon, buildImage, BuildStepError, inspectImage, loadImage, outputCollector, runContainer, runContainerCaptured, tryPull } from './docker';

// Real Docker engine, with the debian:trixie image the global setup built (or loaded) into the daemon.
describe('docker tool', () => {
  let dir: string;
  const tag = `pharos-test/docker-tool:${process.pid}`;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-docker-tool-'));
  });
  afterAll(async () => {
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
    removeDir(dir);
  });

  it('names the endpoint and the next step when no daemon answers', async () => {
    const err = await assertDaemon(new Docker({ socketPath: join(dir, 'no-daemon.sock') })).catch((e: PharosError) => e);
    expect(err).toBeInstanceOf(PharosError);
    expect((err as PharosError).format()).toMatch(/connect to Docker: no Docker daemon answers at [^]*next: run `npm run setup`/);
    await expect(assertDaemon(docker)).resolves.toBeUndefined();
  });

  it('answers undefined for an image the daemon lacks, and a reason (not an exception) when a pull fails', async () => {
    expect(await inspectImage(docker, 'pharos-test/absent:none')).toBeUndefined();
    expect((await inspectImage(docker, 'debian:trixie'))?.Id).toMatch(/^sha256:/);
    const pulled = await tryPull(docker, 'pharos-test/never-pulled:x', () => undefined);
    expect(pulled.ok).toBe(false);
    expect(pulled.reason).toBeTruthy();
  });

  it('refuses an archive that is not one, with the daemon message', async () => {
    writeFileSync(join(dir, 'not-an-image.tar'), 'not a tar');
    await expect(loadImage(docker, join(dir, 'not-an-image.tar'))).rejects.toThrow();
  });

  it('runs a container to completion, keeps stdout and stderr apart, and removes it', async () => {
    const before = await containerIds();
    const r = await runContainerCaptured(docker, { image: 'debian:trixie', cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], network: 'none' });
    expect(r).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(await containerIds()).toEqual(before);
  });

  it('removes the container when it cannot start', async () => {
    const before = await containerIds();
    const out = outputCollector();
    // A device the host lacks: the daemon refuses it when the container starts (or, on some versions, when it is made).
    const spec = { image: 'debian:trixie', cmd: ['true'], devices: ['/dev/pharos-no-such-device'] };
    await expect(runContainer(docker, spec, { stdout: out.stream, stderr: out.stream })).rejects.toThrow();
    expect(await containerIds()).toEqual(before);
  });

  it('passes output on as it comes when asked to echo', async () => {
    const echo = outputCollector();
    const r = await runContainerCaptured(docker, { image: 'debian:trixie', cmd: ['echo', 'seen'], network: 'none' }, echo.stream);
    expect(r.stdout).toBe('seen\n');
    expect(echo.text()).toBe('seen\n');
  });

  it('reports the step a build stopped at, with the tail of its output, and leaves no step container', async () => {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM debian:trixie\nRUN echo about to fail && exit 7\n');
    const before = await containerIds();
    const err = await buildImage(docker, { contextDir: dir, dockerfile: 'Dockerfile', tag, onOutput: () => undefined }).catch((e: BuildStepError) => e);
    expect(err).toBeInstanceOf(BuildStepError);
    const failed = err as BuildStepError;
    expect(failed.step).toMatchObject({ index: 2, text: 'RUN echo about to fail && exit 7' });
    expect(failed.tail.join('\n')).toContain('about to fail');
    expect(await containerIds()).toEqual(before);
  });

  it('labels a container with its owner and stops it at its time limit, naming it', async () => {
    const before = await containerIds();
    const self = currentOwner();
    const out = outputCollector();
    const running = runContainer(
      docker,
      { image: 'debian:trixie', cmd: ['sleep', '100000'], network: 'none', what: 'the sleeper', timeLimit: 5000 },
      { stdout: out.stream, stderr: out.stream },
    );
    const failed = running.catch((e: PharosError) => e);
    let labels: Record<string, string> | undefined;
    for (let i = 0; i < 50 && !labels; i++) {
      const mine = await docker.listContainers({ filters: { label: [`org.pharos.pid=${process.pid}`, `org.pharos.workspace=${self.workspace}`] } });
      labels = mine[0]?.Labels;
      if (!labels) await new Promise((r) => setTimeout(r, 100));
    }
    expect(labels).toMatchObject({ 'org.pharos.workspace': self.workspace, 'org.pharos.task': self.task, 'org.pharos.node': self.node });
    const err = await failed;
    expect(err).toBeInstanceOf(PharosError);
    expect((err as PharosError).message).toBe('the sleeper did not finish within 5s; its container was stopped and removed');
    expect((err as PharosError).format()).toContain('next: find out why it hangs');
    expect(await containerIds()).toEqual(before);
  });

  it("reaps a dead run's container, and keeps a live owner's and another workspace's", async () => {
    // A workspace of our own, so no real run's containers are judged here.
    const self: ContainerOwner = { ...currentOwner(), workspace: workspaceId(dir) };
    const deadPid = spawnSync('true').pid as number;
    const start = async (name: string, owner: ContainerOwner) => {
      const c = await docker.createContainer({
        name: `pharos-test-${name}-${process.pid}`,
        Image: 'debian:trixie',
        Cmd: ['sleep', '100000'],
        Labels: ownerLabels(owner),
        HostConfig: { NetworkMode: 'none', Init: true },
      });
      await c.start();
      return c;
    };
    const dead = await start('dead', { ...self, task: 'base-tools:test', pid: deadPid });
    const live = await start('live', { ...self, pid: process.pid });
    const other = await start('other', { ...self, workspace: workspaceId(`${dir}-other`), pid: deadPid });
    const lines: string[] = [];
    try {
      const reaped = await reapOrphans(docker, self, (l) => lines.push(l));
      expect(reaped.map((o) => o.id)).toEqual([dead.id]);
      expect(lines).toEqual([
        `pharos: removed container pharos-test-dead-${process.pid} (${dead.id.slice(0, 12)}), left behind by base-tools:test whose run (pid ${deadPid}) has ended`,
      ]);
      const ids = await containerIds();
      expect(ids.has(dead.id)).toBe(false);
      expect(ids.has(live.id)).toBe(true);
      expect(ids.has(other.id)).toBe(true);
    } finally {
      for (const c of [dead, live, other]) await c.remove({ force: true }).catch(() => undefined);
    }
  });
});
