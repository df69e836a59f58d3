import { execa } from 'execa';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageDir, imageManifestPath } from '../src/products/image';
import { copyWorkspace, docker, filesIn, interruptNx, nx, NX_BIN, nxEnv, removeDir, WORKSPACE } from './harness';

const ranTasks = (tasks: Map<string, string>) =>
  [...tasks]
    .filter(([, s]) => s === 'ran')
    .map(([t]) => t)
    .sort();
const CONTAINERS = ['base-tools', 'openmpi', 'python-science'];
const allOf = (targets: string[], projects = CONTAINERS) => projects.flatMap((p) => targets.map((t) => `${p}:${t}`)).sort();

/** Images a workspace copy built for itself; the real workspace's stay for the other tests. */
async function removeCopyImages(ws: string, projectRoots: string[]): Promise<void> {
  for (const root of projectRoots) {
    const read = (base: string) => {
      try {
        return JSON.parse(readFileSync(join(base, 'dist', root, 'image.json'), 'utf8')).id as string;
      } catch {
        return undefined;
      }
    };
    const copy = read(ws);
    if (copy && copy !== read(WORKSPACE))
      await docker
        .getImage(copy)
        .remove({ force: true })
        .catch(() => undefined);
  }
}

// The acceptance checks of the application containers, through the real Nx CLI, Docker engine and Apptainer.
describe('application containers', () => {
  it('pass their tests in Docker and Apptainer, and a second run is all cache hits', async () => {
    const first = await nx(['run-many', '-t', 'test', '--projects=tag:container']);
    expect(first.exitCode, first.output.slice(-3000)).toBe(0);
    expect(first.output).toContain('ok   mpirun -n 2 runs both ranks [docker]');
    expect(first.output).toContain('ok   mpirun -n 2 runs both ranks [apptainer]');
    expect(first.output).toContain('ok   scipy determinant [apptainer]');
    const again = await nx(['run-many', '-t', 'test', '--projects=tag:container']);
    expect(again.exitCode, again.output).toBe(0);
    expect(again.tasks.size).toBeGreaterThanOrEqual(9);
    expect(ranTasks(again.tasks)).toEqual([]);
  });

  it('have the graph edges: FROM base-tools, and sif and test on the dev container', async () => {
    const r = await execa(NX_BIN, ['graph', '--file=stdout'], { cwd: WORKSPACE, env: { NX_DAEMON: 'false' } });
    const deps = (JSON.parse(r.stdout) as { graph: { dependencies: Record<string, Array<{ target: string }>> } }).graph.dependencies;
    const targets = (p: string) => deps[p].map((d) => d.target).sort();
    expect(targets('openmpi')).toEqual(['@pharos/nx-plugin', 'base-tools', 'dev-container']);
    expect(targets('python-science')).toEqual(['@pharos/nx-plugin', 'base-tools', 'dev-container']);
    expect(targets('base-tools')).toEqual(['@pharos/nx-plugin', 'debian-trixie', 'dev-container']);
  });
});

describe('a copy of the workspace with containers', () => {
  let ws: string;
  const git = (...args: string[]) => execa('git', args, { cwd: ws });
  beforeAll(async () => {
    ws = copyWorkspace();
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'base');
  });
  afterAll(async () => {
    await removeCopyImages(ws, ['containers/base-tools', 'containers/openmpi', 'containers/python-science', 'containers/demo', 'containers/with-artifact']);
    removeDir(ws);
  });

  it('selects exactly the touched projects with nx affected', async () => {
    const affected = async () => {
      const r = await nx(['show', 'projects', '--affected', '--base=HEAD', '--withTarget=test'], ws);
      return r.output
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^[a-z@][\w@/.-]*$/.test(l))
        .sort();
    };
    appendFileSync(join(ws, 'containers/python-science/container.yaml'), '# a comment\n');
    expect(await affected()).toEqual(['python-science']);
    await git('checkout', '--', '.');
    appendFileSync(join(ws, 'containers/base-tools/Dockerfile'), '# a comment\n');
    // hpc-compute's verify runs openmpi's SIF on the VM cluster (cluster.containers), so it is affected too, and
    // site-shell is a .def image built From: base-tools' SIF.
    expect(await affected()).toEqual(['base-tools', 'hpc-compute', 'openmpi', 'python-science', 'site-shell-1.0']);
    await git('checkout', '--', '.');
  });

  it("re-runs only that project's test when only the test section of container.yaml changes", async () => {
    const warm = await nx(['run-many', '-t', 'test', '--projects=tag:container'], ws);
    expect(warm.exitCode, warm.output).toBe(0);
    expect(ranTasks(warm.tasks)).toEqual([]);
    const file = join(ws, 'containers/python-science/container.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: scipy determinant', 'name: the scipy determinant'));
    const run = await nx(['run-many', '-t', 'test', '--projects=tag:container'], ws);
    expect(run.exitCode, run.output).toBe(0);
    expect(ranTasks(run.tasks)).toEqual(['python-science:test']);
    expect(run.output).toContain('ok   the scipy determinant [apptainer]');
  });

  it('shows the command, runtime, expected and actual output of a failing check', async () => {
    const file = join(ws, 'containers/python-science/container.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('expectOutput: "10.0"', 'expectOutput: "11.0"'));
    try {
      const run = await nx(['run', 'python-science:test'], ws);
      expect(run.exitCode).not.toBe(0);
      for (const runtime of ['docker', 'apptainer']) {
        expect(run.output).toContain(`check "the scipy determinant" in ${runtime}: \`python3 -c 'import numpy, scipy.linalg;`);
      }
      expect(run.output).toContain('expected output "11.0", got "10.0"');
      expect(run.output).toContain('pharos: containers/python-science/container.yaml: python-science:test: 2 check(s) failed');
    } finally {
      writeFileSync(file, good);
    }
  });

  it('names the file, line and key of an unknown option in container.yaml', async () => {
    const file = join(ws, 'containers/base-tools/container.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `sif:\n  compresion: gzip\n${good}`);
    try {
      const run = await nx(['run', 'base-tools:sif'], ws);
      expect(run.exitCode).not.toBe(0);
      expect(run.output).toContain('pharos: containers/base-tools/container.yaml:2: unknown key "sif.compresion"');
      expect(run.output).toContain('next: remove or rename "compresion"');
    } finally {
      writeFileSync(file, good);
    }
  });

  it('refuses to build a SIF that must be signed when no key is given', async () => {
    const file = join(ws, 'containers/base-tools/container.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `sif:\n  sign: true\n${good}`);
    try {
      const run = await nx(['run', 'base-tools:sif', '--exclude-task-dependencies'], ws);
      expect(run.exitCode).not.toBe(0);
      expect(run.output).toContain('signing is on (containers/base-tools/container.yaml sif.sign) but no signing key was given');
      expect(filesIn(join(ws, imageDir('containers/base-tools'))).filter((f) => f.includes('.sif'))).toEqual([]);
    } finally {
      writeFileSync(file, good);
    }
  });

  it('leaves no container and no partial SIF when the conversion is interrupted', async () => {
    await nx(['run', 'openmpi:image'], ws); // restores the archive the interrupted run converts
    const interrupted = await interruptNx(
      ['run', 'openmpi:sif', '--skip-nx-cache', '--exclude-task-dependencies'],
      ws,
      /Extracting OCI image|Creating SIF file/,
    );
    expect(interrupted.exitCode).not.toBe(0);
    expect(interrupted.leftContainers).toEqual([]);
    expect(filesIn(join(ws, imageDir('containers/openmpi'))).sort()).toEqual(['image.json', 'image.tar']);
  });

  it('scaffolds a container with the generator that builds and tests at once', async () => {
    // Not through nx(): generators take no --output-style.
    const gen = await execa(NX_BIN, ['g', '@pharos/nx-plugin:container', 'demo'], { cwd: ws, env: nxEnv(), all: true, reject: false });
    expect(gen.exitCode, gen.all).toBe(0);
    const run = await nx(['run', 'demo:test'], ws);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.output).toContain('ok   the image says who it is [docker]');
    expect(run.output).toContain('ok   the image says who it is [apptainer]');
    expect(filesIn(join(ws, imageDir('containers/demo'))).sort()).toEqual(['demo.sif', 'demo.sif.json', 'image.json', 'image.tar']);
  });

  it('copies a declared artifact of another project into the build, with the edge and the cache input', async () => {
    mkdirSync(join(ws, 'tools/artifact-producer'), { recursive: true });
    writeFileSync(join(ws, 'tools/artifact-producer/payload.txt'), 'payload one\n');
    writeFileSync(
      join(ws, 'tools/artifact-producer/project.json'),
      JSON.stringify({
        name: 'artifact-producer',
        targets: {
          build: {
            command: 'mkdir -p dist/tools/artifact-producer && cp tools/artifact-producer/payload.txt dist/tools/artifact-producer/payload.txt',
            inputs: ['{projectRoot}/payload.txt'],
            outputs: ['{workspaceRoot}/dist/tools/artifact-producer'],
            cache: true,
          },
        },
      }),
    );
    mkdirSync(join(ws, 'containers/with-artifact'), { recursive: true });
    writeFileSync(join(ws, 'containers/with-artifact/Dockerfile'), 'FROM debian:trixie\nCOPY artifacts/artifact-producer/ /opt/payload/\n');
    writeFileSync(
      join(ws, 'containers/with-artifact/container.yaml'),
      'artifacts:\n  - project: artifact-producer\n    files: dist/tools/artifact-producer/*.txt\n',
    );
    const payload = async () => {
      const manifest = JSON.parse(readFileSync(join(ws, imageManifestPath('containers/with-artifact')), 'utf8'));
      const r = await execa('docker', ['run', '--rm', manifest.id, 'cat', '/opt/payload/payload.txt']);
      return r.stdout;
    };

    const first = await nx(['run', 'with-artifact:image'], ws);
    expect(first.exitCode, first.output.slice(-3000)).toBe(0);
    expect(ranTasks(first.tasks)).toEqual(['artifact-producer:build', 'with-artifact:image']);
    expect(await payload()).toBe('payload one');

    const graph = await execa(NX_BIN, ['graph', '--file=stdout'], { cwd: ws, env: { NX_DAEMON: 'false' } });
    const edges = JSON.parse(graph.stdout).graph.dependencies['with-artifact'].map((d: { target: string }) => d.target);
    expect(edges).toContain('artifact-producer');

    writeFileSync(join(ws, 'tools/artifact-producer/payload.txt'), 'payload two\n');
    const second = await nx(['run', 'with-artifact:image'], ws);
    expect(ranTasks(second.tasks)).toEqual(['artifact-producer:build', 'with-artifact:image']);
    expect(await payload()).toBe('payload two');
  });

  // Last: it rebuilds every container image in the copy.
  it("rebuilds all three images, their SIFs and their tests when base-tools' Dockerfile changes", async () => {
    appendFileSync(join(ws, 'containers/base-tools/Dockerfile'), `\nLABEL org.pharos.test-edit="${Date.now()}"\n`);
    const run = await nx(['run-many', '-t', 'test', `--projects=${CONTAINERS.join(',')}`], ws);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(ranTasks(run.tasks)).toEqual(allOf(['image', 'sif', 'test']));
    expect(run.tasks.get('dev-container:image')).toBe('cache');
    expect(run.tasks.get('debian-trixie:image')).toBe('cache');
  });
});
