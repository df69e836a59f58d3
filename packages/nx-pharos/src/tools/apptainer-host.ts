import { execa, type ResultPromise } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { constants, hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { readSifManifest, sifManifestPath } from '../products/sif';
import { assertBlobPresent } from '../products/store-files';
import { interruptSignal, onInterrupt } from '../utils/cleanup';
import { PharosError } from '../utils/errors';
import type { ApptainerRunner } from './apptainer';
import type { DevCommand, DevCommandResult } from './dev-container';
import { outputCollector } from './docker';
import { containerTimeLimit, describeCommand, notTheStepError, raiseContainerLimit, timeLimitError, withinTimeLimit } from './docker-outcome';

/**
 * Apptainer on this machine, for a node without Docker (a Slurm compute node): an `apptainer` command runs as it is,
 * the node's own Apptainer; any other command the executors would run in the dev container (mksquashfs, sh, …) runs
 * in the dev container's SIF. Both as the calling user, from the workspace root, with the caller's environment (a
 * site's APPTAINER_* settings apply; the commands that must not see it pass --cleanenv themselves).
 */

export interface HostSetup {
  /** The dev container's SIF, where every command but `apptainer` runs. */
  devSif: string;
  workspaceRoot: string;
  /** This machine's store (products/store.ts), bound read-only at its own path: the workspace's product links lead there. */
  store?: string;
}

/** The action commands, the ones that start a container and so take `--net`. */
const ACTIONS = new Set(['exec', 'run', 'shell', 'test']);

/**
 * A network namespace with only a loopback device. Unprivileged users may ask for it: Apptainer 1.4's
 * prepareNetworkSetup (internal/pkg/runtime/engine/apptainer/container_linux.go) returns before any permission check
 * when the network is `none`; the `allow net users/groups/networks` settings of apptainer.conf govern only the other
 * CNI networks ("non-root users can only use --network=none unless permitted by the administrator").
 */
const NO_NETWORK = ['--net', '--network', 'none'];

/** argv of `call` on this host. Pure. */
export function hostArgv(call: DevCommand, setup: HostSetup): string[] {
  const offline = call.network === 'none';
  if (call.argv[0] === 'apptainer') {
    const [apptainer, subcommand, ...rest] = call.argv;
    // The host sees its own files, so `readOnlyFiles` needs no bind here. `userNamespaceBuild` is the dev container's
    // stand-in for /etc/subuid: on a node, `apptainer build --fakeroot` reads the node's own /etc/subuid and /etc/subgid.
    return offline && ACTIONS.has(subcommand) ? [apptainer, subcommand, ...NO_NETWORK, ...rest] : call.argv;
  }
  const ws = setup.workspaceRoot;
  return [
    'apptainer',
    'exec',
    // The Docker run hands its container only PHAROS_UID/GID/USER, which its entrypoint uses to become the caller;
    // Apptainer runs as the caller already, so the command sees the image's own environment, as it does there.
    '--cleanenv',
    '--bind',
    ws,
    ...(setup.store ? ['--bind', `${setup.store}:${setup.store}:ro`] : []),
    '--pwd',
    ws,
    ...(offline ? NO_NETWORK : []),
    ...(call.readOnlyFiles ?? []).flatMap((f) => ['--bind', `${f}:${f}:ro`]),
    setup.devSif,
    ...call.argv,
  ];
}

/**
 * The line a call that asks for no network prints when Apptainer cannot give it: `apptainer build` has no --net
 * (cmd/internal/cli/build.go registers none), so a `.def` build's %post on a node has the node's network.
 */
export function unisolatedNotice(call: DevCommand): string | undefined {
  const [command, subcommand] = call.argv;
  if (call.network !== 'none' || command !== 'apptainer' || ACTIONS.has(subcommand)) return undefined;
  return `pharos: apptainer ${subcommand} takes no --net, so ${call.what ?? describeCommand(call.argv)} runs with ${hostname()}'s network\n`;
}

export function apptainerMissingError(node = hostname()): PharosError {
  return new PharosError(`there is no apptainer on PATH on ${node}`, {
    step: 'run Apptainer on this node',
    next: 'Apptainer must be installed on every compute node (docs/slurm.md#nodes); where it is a module, load it in the job (e.g. `module load apptainer`)',
  });
}

/** How long a stopped command has to end after SIGTERM before its process group is killed. */
const STOP_GRACE_MS = 10_000;

/**
 * Runs argv to completion in its own process group, keeping stdout and stderr apart (and echoing both as they come).
 * On Ctrl-C and at the time limit the whole group goes (Apptainer's starter and its squashfuse with it); the errors
 * are the container runner's own (tools/docker-outcome.ts).
 */
async function runOnHost(argv: string[], call: DevCommand, cwd: string): Promise<DevCommandResult> {
  const what = call.what ?? describeCommand(call.argv);
  const limit = call.timeLimit ?? containerTimeLimit();
  const out = outputCollector(call.echo);
  const err = outputCollector(call.echo);
  const child: ResultPromise = execa(argv[0], argv.slice(1), { cwd, reject: false, stdin: 'ignore', buffer: false, detached: true });
  child.stdout?.on('data', (d: Buffer) => out.stream.write(d));
  child.stderr?.on('data', (d: Buffer) => err.stream.write(d));
  let exited = false;
  const ended = child.finally(() => (exited = true));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (!exited && child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    signalGroup('SIGTERM');
    await Promise.race([ended, new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
    signalGroup('SIGKILL');
    await ended;
  };
  const release = onInterrupt(stop);
  try {
    const waited = await withinTimeLimit(ended, limit, stop);
    if (waited.timedOut) throw timeLimitError(what, limit, call.raiseLimit ?? raiseContainerLimit(limit));
    const r = waited.value;
    if ((r as { code?: string }).code === 'ENOENT') throw apptainerMissingError();
    const signal = interruptSignal();
    if (signal) throw notTheStepError('signal', `while ${what} ran`, '', signal);
    const exitCode = r.exitCode ?? 128 + (r.signal ? (constants.signals[r.signal as NodeJS.Signals] ?? 0) : 0);
    return { exitCode, stdout: out.text(), stderr: err.text() };
  } finally {
    await release();
  }
}

/** Apptainer commands on this host, as the calling user, from the workspace root. */
export class HostApptainer implements ApptainerRunner {
  constructor(private readonly setup: HostSetup) {}

  async run(call: DevCommand): Promise<DevCommandResult> {
    // `fuse` is what the dev container's Docker run must grant for `apptainer exec`; on a host Apptainer uses /dev/fuse
    // (or a kernel mount) as the node allows, and there is nothing to grant.
    const notice = unisolatedNotice(call);
    if (notice) (call.echo ?? process.stderr).write(notice);
    return runOnHost(hostArgv(call, this.setup), call, this.setup.workspaceRoot);
  }

  async version(): Promise<string> {
    return (await this.run({ argv: ['apptainer', 'version'] })).stdout.trim();
  }
}

/**
 * The dev container's SIF (its `sif` product), checked against its manifest by size (and its blob, when it is a link
 * into the store): hashing a 1 GB file in every task would cost more than the task; the manifest is written last, so
 * one that is there names a complete SIF.
 */
export async function devContainerSif(workspaceRoot: string, project: string, projectRoot: string): Promise<string> {
  const manifestFile = join(workspaceRoot, sifManifestPath(projectRoot, project));
  const producer = `${project}:sif`;
  const shown = (file: string) => relative(workspaceRoot, file);
  if (!existsSync(manifestFile)) {
    throw new PharosError(`no SIF of the dev container: without Docker, Apptainer runs the dev container's tools from it`, {
      file: shown(manifestFile),
      next: `run \`npx nx run ${producer}\` first, on a machine with Docker, into the workspace the nodes share`,
    });
  }
  const manifest = readSifManifest(manifestFile, workspaceRoot, producer);
  const sif = join(dirname(manifestFile), manifest.sif);
  await assertBlobPresent(sif, manifest, { shown: shown(sif), rebuild: `npx nx run ${producer} --skip-nx-cache` });
  if (!existsSync(sif) || statSync(sif).size !== manifest.bytes) {
    throw new PharosError(`${shown(sif)} is not the SIF its manifest describes (missing, or not ${manifest.bytes} bytes)`, {
      file: shown(manifestFile),
      next: `rebuild it: npx nx run ${producer} --skip-nx-cache`,
    });
  }
  return sif;
}
