import { createProjectGraphAsync, readCachedProjectGraph, type ProjectGraph } from '@nx/devkit';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { join, resolve } from 'node:path';
import { PharosError } from '../utils/errors';
import { assertDaemon, dockerClient, runContainer } from './docker';
import { DEV_CONTAINER_PROJECT } from '../products/image';
import { containerCwd, devContainerRunSpec, hostFacts, readyDevContainer, type DevRunRequest } from './dev-container';

const HELP = `usage: tools/run-in-dev-container [options] [--] [command [args…]]

Runs a command in the Pharos dev container as you (same uid and gid), with the workspace mounted at the same path
and the current directory kept. Without a command, starts an interactive shell. /dev/kvm is passed when present.
The dev container is brought up to date first (npx nx run ${DEV_CONTAINER_PROJECT}:image, a cache hit when
nothing changed), and loaded from dist/ if the daemon lacks it.

options:
  --docker          mount the Docker socket (grants root on the host; off unless asked)
  --fuse            pass /dev/fuse with seccomp unconfined (for apptainer exec)
  -e, --env K=V     set an environment variable (repeatable)
  --no-build        do not run the dev container's image target first
  -h, --help        this text`;

export interface DevRunCliArgs {
  help: boolean;
  docker: boolean;
  fuse: boolean;
  build: boolean;
  env: Record<string, string>;
  command: string[];
}

export function parseDevRunArgs(argv: string[]): DevRunCliArgs {
  const out: DevRunCliArgs = { help: false, docker: false, fuse: false, build: true, env: {}, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.command = argv.slice(i + 1);
      break;
    }
    if (a === '-h' || a === '--help') out.help = true;
    else if (a === '--docker') out.docker = true;
    else if (a === '--fuse') out.fuse = true;
    else if (a === '--no-build') out.build = false;
    else if (a === '-e' || a === '--env') {
      const kv = argv[++i] ?? '';
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new PharosError(`${a} needs NAME=VALUE, got "${kv}"`, { step: 'run-in-dev-container' });
      out.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a.startsWith('-')) {
      throw new PharosError(`unknown option ${a}`, { step: 'run-in-dev-container', next: 'see --help; put the command after --' });
    } else {
      out.command = argv.slice(i);
      break;
    }
  }
  return out;
}

/** The workspace this plugin's source lives in: the command line runs from it (bin/pharos.cjs). */
export const CLI_WORKSPACE_ROOT = resolve(__dirname, '../../../..');

/** The dev container project a command-line run uses: PHAROS_DEV_CONTAINER, else the default. */
export function cliDevContainerProject(env: NodeJS.ProcessEnv = process.env): string {
  return env.PHAROS_DEV_CONTAINER || DEV_CONTAINER_PROJECT;
}

/** A project's root, from the graph Nx last computed; `step` and `next` say what to do when there is no such project. */
export async function cliProjectRoot(project: string, step: string, next: string): Promise<string> {
  const root = (await projectGraph()).nodes[project]?.data.root;
  if (root === undefined) throw new PharosError(`no project named "${project}" in this workspace`, { step, next });
  return root;
}

/** The dev container's image for a command-line run, loaded from dist/ when the daemon lacks it (never built here). */
export async function cliDevContainerImage(docker: Docker, workspaceRoot: string, step: string): Promise<string> {
  const project = cliDevContainerProject();
  const root = await cliProjectRoot(project, step, 'set PHAROS_DEV_CONTAINER');
  return readyDevContainer(docker, workspaceRoot, project, root);
}

/**
 * Runs a command in the dev container attached to this terminal: its output to ours, stdin passed and a TTY given
 * when ours is one (raw, so Ctrl-C reaches the command), no time limit (a person decides how long it runs). Returns
 * the command's exit code.
 */
export async function runAttached(docker: Docker, imageId: string, req: Omit<DevRunRequest, 'tty' | 'interactive'>): Promise<number> {
  const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
  const spec = devContainerRunSpec(imageId, { ...req, tty, interactive: !!process.stdin.isTTY }, hostFacts());
  if (tty) process.stdin.setRawMode?.(true);
  try {
    return await runContainer(docker, { ...spec, timeLimit: Infinity }, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  } finally {
    if (tty) process.stdin.setRawMode?.(false);
    process.stdin.pause();
  }
}

export async function runInDevContainerCli(argv: string[]): Promise<number> {
  const args = parseDevRunArgs(argv);
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const workspaceRoot = CLI_WORKSPACE_ROOT;
  const project = cliDevContainerProject();
  const docker = dockerClient();
  await assertDaemon(docker);
  if (args.build) {
    // Nx's output goes to stderr so that stdout carries only the command's output.
    const nx = await execa(join(workspaceRoot, 'node_modules/.bin/nx'), ['run', `${project}:image`, '--output-style=static'], {
      cwd: workspaceRoot,
      stdin: 'ignore',
      stdout: process.stderr,
      stderr: process.stderr,
      reject: false,
    });
    if (nx.exitCode !== 0) throw new PharosError(`could not build the dev container (nx run ${project}:image failed)`, { step: 'run-in-dev-container' });
  }
  const imageId = await cliDevContainerImage(docker, workspaceRoot, 'run-in-dev-container');
  return runAttached(docker, imageId, {
    workspaceRoot,
    cwd: containerCwd(workspaceRoot, process.cwd()),
    command: args.command,
    env: args.env,
    dockerSocket: args.docker,
    fuse: args.fuse,
    storeWritable: true,
    label: 'run-in-dev-container',
  });
}

/** The graph Nx last computed (read-only, so it works for any caller), or a fresh one when there is none yet. */
async function projectGraph(): Promise<ProjectGraph> {
  try {
    return readCachedProjectGraph();
  } catch {
    return createProjectGraphAsync({ exitOnError: false });
  }
}
