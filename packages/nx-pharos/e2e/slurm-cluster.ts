import { execa } from 'execa';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { imageManifestPath, type ImageManifest } from '../src/products/image';
import { presentStoreDir } from '../src/products/store-files';
import { shellQuote } from '../src/utils/shell';

/**
 * A real one-node Slurm cluster on loopback for the engine tests: slurmctld and slurmd (Debian's trixie packages) in a
 * container of the dev container's image, which carries Apptainer as a site's compute nodes do. The workspaces the
 * tests use are bound at their own paths, standing in for the shared filesystem, and so are this host's store of
 * products (where their links lead, and where the jobs put what they build: docs/slurm.md) and its `node`, which the
 * jobs run the executors with.
 *
 * The client commands (sbatch, squeue, scontrol, sacct, scancel, sinfo) are Debian's too, run in that container: the
 * issue names "Debian's packages inside a container" as one way to get clients the controller accepts. `clientsDir`
 * holds one shim per command that runs the real command there with `docker exec`, in the caller's directory; put it
 * first on PATH. (No test-framework import here: bench/slurm.mjs starts the same cluster through slurm-cluster-cli.ts.)
 */
export interface SlurmCluster {
  container: string;
  node: string;
  clientsDir: string;
  /** PATH with the clients first, for an Nx run that should submit to this cluster. */
  env(): Record<string, string>;
  /** A client command run in the cluster, e.g. `squeue -h`. */
  run(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

const FIXTURE = join(__dirname, 'fixtures/slurm-cluster');
// Not named Dockerfile: the plugin would infer a project from it.
const NODE_DOCKERFILE = join(FIXTURE, 'node.Dockerfile');
const NODE = 'pharos-node1';
const CLIENTS = ['sbatch', 'squeue', 'scontrol', 'sacct', 'scancel', 'sinfo', 'srun'];

/** The node image, built once per dev container image and node.Dockerfile (its tag holds both's digest), from `workspace`'s product. */
async function nodeImage(workspace: string): Promise<string> {
  const dev = JSON.parse(readFileSync(join(workspace, imageManifestPath('tools/dev-container')), 'utf8')) as ImageManifest;
  const key = createHash('sha256').update(dev.id).update(readFileSync(NODE_DOCKERFILE)).digest('hex');
  const tag = `pharos/test-slurm-node:${key.slice(0, 16)}`;
  const present = await execa('docker', ['image', 'inspect', tag], { reject: false });
  if (present.exitCode !== 0) {
    const built = await execa('docker', ['build', '-q', '--build-arg', `DEV_IMAGE=${dev.id}`, '-f', NODE_DOCKERFILE, '-t', tag, FIXTURE], {
      reject: false,
      all: true,
    });
    if (built.exitCode !== 0) throw new Error(`building the test cluster's node image failed:\n${built.all}`);
  }
  return tag;
}

/**
 * A client command run in the cluster's container, in the caller's directory when the node sees it (under one of the
 * shared paths), else in /. One docker exec per call: the harness's cost shows in every poll the engine makes.
 * sbatch reads its script here and hands it over on stdin, as a login node's sbatch sends the script's text to the
 * controller: a script the node cannot see must still be submitted, and its job then fail there.
 */
function clientShim(container: string, cmd: string, sharedPaths: string[]): string {
  const seen = sharedPaths.map((p) => `${shellQuote(p)}|${shellQuote(p)}/*`).join('|');
  const cwd = `d=$(pwd); case "$d" in ${seen}) ;; *) d=/ ;; esac\n`;
  if (cmd !== 'sbatch') return `#!/bin/sh\n${cwd}exec docker exec -i -w "$d" ${container} ${cmd} "$@"\n`;
  return `#!/bin/sh
${cwd}n=$#; i=0; last=
for a in "$@"; do last=$a; done
[ -f "$last" ] || exec docker exec -i -w "$d" ${container} sbatch "$@"
for a in "$@"; do
    i=$((i + 1)); [ $i -eq 1 ] && set --
    [ $i -lt $n ] && set -- "$@" "$a"
done
exec docker exec -i -w "$d" ${container} sbatch "$@" < "$last"
`;
}

/** A cluster whose node sees `sharedPaths` and this machine's store; the node image comes from the dev container `workspace` built. */
export async function startSlurmCluster(workspace: string, sharedPaths: string[]): Promise<SlurmCluster> {
  const image = await nodeImage(workspace);
  const shared = [...new Set([...sharedPaths, presentStoreDir()])];
  const container = `pharos-test-slurm-${process.pid}`;
  const binds = [...shared.map((p) => `${p}:${p}`), `${process.execPath}:/usr/local/bin/node:ro`, `${FIXTURE}:/pharos-cluster:ro`];
  await execa('docker', [
    'run',
    '-d',
    '--rm',
    '--name',
    container,
    '--hostname',
    NODE,
    // Apptainer's exec in a container, as the dev container runs it (no --privileged: it does not work here).
    '--device',
    '/dev/fuse',
    '--security-opt',
    'seccomp=unconfined',
    '--label',
    'io.pharos.test=slurm-cluster',
    ...binds.flatMap((b) => ['-v', b]),
    image,
    'sh',
    '/pharos-cluster/cluster.sh',
    NODE,
  ]);
  const clientsDir = mkdtempSync(join(tmpdir(), 'pharos-slurm-clients-'));
  for (const cmd of CLIENTS) {
    writeFileSync(join(clientsDir, cmd), clientShim(container, cmd, shared));
    chmodSync(join(clientsDir, cmd), 0o755);
  }
  const run = async (argv: string[]) => {
    const r = await execa('docker', ['exec', container, ...argv], { reject: false });
    return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
  };
  const stop = async () => {
    await execa('docker', ['rm', '-f', container], { reject: false });
    rmSync(clientsDir, { recursive: true, force: true });
  };
  // Ready when the node is idle; a minute is generous (it takes about a second).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await run(['sinfo', '-h', '-p', 'debug', '-o', '%T']);
    if (r.exitCode === 0 && r.stdout.trim() === 'idle') break;
    if (Date.now() > deadline) {
      const logs = await run(['sh', '-c', 'tail -n 20 /var/log/slurm/*.log']);
      await stop();
      throw new Error(`the test Slurm cluster never became idle (sinfo: ${r.stdout}${r.stderr}):\n${logs.stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    container,
    node: NODE,
    clientsDir,
    env: () => ({ PATH: `${clientsDir}:${process.env.PATH}` }),
    run,
    stop,
  };
}
