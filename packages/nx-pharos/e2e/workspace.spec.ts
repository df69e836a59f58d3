import { execa } from 'execa';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageDir, imageManifestPath } from '../src/products/image';
import { MAIN_JOB } from './global-setup';
import { copyWorkspace, docker, filesIn, interruptNx, nx, removeDir, WORKSPACE } from './harness';

const ranTasks = (tasks: Map<string, string>) =>
  [...tasks]
    .filter(([, s]) => s === 'ran')
    .map(([t]) => t)
    .sort();

// The acceptance checks of the foundation, through the real Nx CLI and the real Docker engine.
describe('the main job', () => {
  it('is all cache hits the second time, over every project', async () => {
    const run = await nx(MAIN_JOB);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.tasks.size).toBeGreaterThanOrEqual(6);
    expect(ranTasks(run.tasks)).toEqual([]);
  });
});

describe('a copy of the workspace with the Nx cache', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(async () => {
    // The edited dev container is this copy's alone; the real workspace's image stays for the other tests.
    const copy = JSON.parse(readFileSync(join(ws, imageManifestPath('tools/dev-container')), 'utf8'));
    const real = JSON.parse(readFileSync(join(WORKSPACE, imageManifestPath('tools/dev-container')), 'utf8'));
    if (copy.id !== real.id)
      await docker
        .getImage(copy.id)
        .remove({ force: true })
        .catch(() => undefined);
    removeDir(ws);
  });

  it('restores every product from the cache, and an unrelated edit rebuilds nothing', async () => {
    appendFileSync(join(ws, 'README.md'), '\nAn unrelated edit.\n');
    writeFileSync(join(ws, 'docs/unrelated.md'), '# unrelated\n');
    const run = await nx(MAIN_JOB, ws);
    expect(run.exitCode, run.output).toBe(0);
    expect(ranTasks(run.tasks)).toEqual([]);
    expect(filesIn(join(ws, imageDir('tools/dev-container'))).sort()).toEqual(['image.json', 'image.tar']);
  });

  it('rejects a Dockerfile syntax error through nx with a non-zero exit', async () => {
    mkdirSync(join(ws, 'containers/broken'), { recursive: true });
    writeFileSync(join(ws, 'containers/broken/Dockerfile'), 'FROM debian:trixie\nCOPPY x /y\n');
    const run = await nx(['run', 'broken:image'], ws);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain('pharos: containers/broken/Dockerfile:2: Dockerfile syntax error: unknown instruction: COPPY');
    expect(filesIn(join(ws, imageDir('containers/broken')))).toEqual([]);
    removeDir(join(ws, 'containers/broken'));
  });

  it('leaves no container and no partial file when an image build is interrupted', async () => {
    mkdirSync(join(ws, 'containers/slow'), { recursive: true });
    writeFileSync(join(ws, 'containers/slow/Dockerfile'), `FROM debian:trixie\nRUN echo ${Date.now()} && sleep 600\n`);
    try {
      // Well inside the RUN step.
      const interrupted = await interruptNx(['run', 'slow:image'], ws, /Running in [0-9a-f]+/, {}, 1000);
      expect(interrupted.exitCode).not.toBe(0);
      expect(interrupted.leftContainers).toEqual([]);
      expect(filesIn(join(ws, imageDir('containers/slow')))).toEqual([]);
      await expect(docker.getImage('pharos/slow:latest').inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      removeDir(join(ws, 'containers/slow'));
    }
  });

  it('rebuilds the dev container and what runs in it when its Dockerfile changes, and nothing else', async () => {
    const warm = await nx(['run-many', '-t', 'build,test', '--exclude=tag:third-party,tag:packer'], ws); // the main job ran no test target yet
    expect(warm.exitCode, warm.output).toBe(0);
    appendFileSync(join(ws, 'tools/dev-container/Dockerfile'), `\nLABEL org.pharos.test-edit="${Date.now()}"\n`);
    const run = await nx(['run-many', '-t', 'build,test', '--exclude=tag:third-party,tag:packer'], ws);
    expect(run.exitCode, run.output).toBe(0);
    // (Nx prints no line for a non-cached nx:noop task, so dev-container:build does not show here.) The SIFs are made
    // and tested with the dev container's Apptainer, so they follow it, and so do the overlays built and tested in
    // it; the images they convert do not.
    const containers = ['base-tools', 'openmpi', 'overlay-build-base', 'python-science'].flatMap((p) => [`${p}:sif`, `${p}:test`]);
    const overlays = [
      ...['htslib-1.16', 'samtools-1.16.1', 'toy-genome-1.0'].flatMap((p) => [`${p}:overlay`, `${p}:test`]),
      ...['site-shell-1.0:sif', 'site-shell-1.0:test'],
    ];
    expect(ranTasks(run.tasks)).toEqual(['dev-container:image', 'dev-container:test', ...containers, ...overlays].sort());
    expect(run.tasks.get('openmpi:image')).toBe('cache');
    expect(run.tasks.get('debian-trixie:image')).toBe('cache');
  });

  it('gives consumers a working dev container after docker rmi, reloaded from the archive', async () => {
    const manifest = JSON.parse(readFileSync(join(ws, imageManifestPath('tools/dev-container')), 'utf8'));
    await docker.getImage(manifest.id).remove({ force: true });
    mkdirSync(join(ws, 'tools/consumer'), { recursive: true });
    writeFileSync(
      join(ws, 'tools/consumer/project.json'),
      JSON.stringify({
        name: 'consumer',
        targets: { probe: { executor: '@pharos/nx-plugin:dev-container-run', options: { command: `echo consumer-${Date.now()}; id -u; pwd` } } },
      }),
    );
    const run = await nx(['run', 'consumer:probe'], ws);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.tasks.get('dev-container:image')).toBe('cache');
    expect(run.output).toContain('loading dev-container image from');
    expect(run.output).toMatch(new RegExp(`consumer-\\d+\\n${process.getuid?.()}\\n${ws}/tools/consumer`));
    expect((await docker.getImage(manifest.id).inspect()).Id).toBe(manifest.id);
  });
});

describe('tools/run-in-dev-container', () => {
  const runner = join(WORKSPACE, 'tools/run-in-dev-container');
  it('runs a command as the caller with the workspace at the same path', async () => {
    const r = await execa(runner, ['sh', '-c', 'id -u; pwd; test -S /var/run/docker.sock && echo socket || echo no-socket'], {
      cwd: join(WORKSPACE, 'docs'),
      stdin: 'ignore',
    });
    expect(r.stdout.split('\n')).toEqual([String(process.getuid?.()), join(WORKSPACE, 'docs'), 'no-socket']);
  });

  it('maps a non-root caller to the same uid and gid, and mounts the Docker socket only with --docker', async () => {
    const dockerGid = (await execa('stat', ['-c', '%g', '/var/run/docker.sock'])).stdout;
    const asUser = ['--reuid=4321', '--regid=4321', `--groups=${dockerGid}`, '--', runner];
    const r = await execa(
      'setpriv',
      [
        ...asUser,
        '--docker',
        '--no-build',
        '--',
        'sh',
        '-c',
        'id -u; id -g; id -un; test -S /var/run/docker.sock && echo socket; touch /tmp/x && echo writable',
      ],
      { cwd: WORKSPACE, stdin: 'ignore', env: { ...process.env, HOME: '/tmp' } },
    );
    expect(r.stdout.split('\n')).toEqual(['4321', '4321', expect.any(String), 'socket', 'writable']);
  });

  it('propagates the exit code of the command', async () => {
    const r = await execa(runner, ['--no-build', 'sh', '-c', 'exit 5'], { reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(5);
  });
});
