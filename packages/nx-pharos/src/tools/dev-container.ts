import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runContainerCaptured, type CapturedRun, type ContainerSpec } from './docker';
import { PharosError } from '../utils/errors';
import { taskLabel } from '../utils/executor';
import { ensureImage } from './image-store';
import { DEV_CONTAINER_PROJECT, imageManifestPath, readImageManifest } from '../products/image';
import { STORE_ENV } from '../products/store';
import { storeToMount } from '../products/store-files';

/**
 * How a command runs in the dev container: as the calling user, with the workspace at the same path (so paths in
 * logs, manifests and Nx outputs mean the same inside and out). Pure: it takes facts about the host and returns a spec.
 */

export const DOCKER_SOCKET = '/var/run/docker.sock';

export interface HostFacts {
  uid: number;
  gid: number;
  user?: string;
  /** gid owning /dev/kvm, when the device exists. */
  kvmGid?: number;
  /** gid owning the Docker socket, when it exists. */
  dockerSocketGid?: number;
  /**
   * This machine's content-addressed store (products/store.ts): the workspace's product links lead there through its
   * anchor, so it is bound at its own path wherever the workspace is.
   */
  store?: string;
}

export interface DevRunRequest {
  workspaceRoot: string;
  cwd: string;
  /** argv; none means an interactive login shell. */
  command?: string[];
  env?: Record<string, string>;
  /** Mount the Docker socket: explicit opt-in only, since it is root on the host. */
  dockerSocket?: boolean;
  /** /dev/fuse and an unconfined seccomp profile: what `apptainer exec` needs inside a container. */
  fuse?: boolean;
  /** More `host:container[:ro]` binds, e.g. a secret file mounted read-only at its own path. */
  extraBinds?: string[];
  /** The store writable, for a person's shell (who may run Nx in it); tools only read products, so read-only by default. */
  storeWritable?: boolean;
  /** `none`: no network at all (a build from pinned sources must not reach out); default Docker's bridge. */
  network?: 'none';
  /** A `.def` build as root of a user namespace with a whole range of ids (tools/apptainer-definition.ts). */
  userNamespaceBuild?: UserNamespaceBuild;
  tty?: boolean;
  interactive?: boolean;
  label?: string;
}

/**
 * What Apptainer's `--fakeroot` build needs in the dev container: a range of subordinate ids for the user it runs as
 * (`subordinateIds`, a host file bound over /etc/subuid and /etc/subgid, see subordinateIdsFor), and /proc unmasked.
 */
export interface UserNamespaceBuild {
  subordinateIds: string;
}

export function devContainerRunSpec(imageId: string, req: DevRunRequest, host: HostFacts): ContainerSpec {
  const extraGids: number[] = [];
  const devices: string[] = [];
  const binds = [`${req.workspaceRoot}:${req.workspaceRoot}`, ...(req.extraBinds ?? [])];
  const env: Record<string, string> = { ...(req.env ?? {}) };
  if (host.store) {
    binds.push(`${host.store}:${host.store}${req.storeWritable ? '' : ':ro'}`);
    // Pharos run inside (a person's `npx nx`) must put blobs where the links already lead, whatever its HOME is there.
    env[STORE_ENV] = host.store;
  }
  const securityOpt: string[] = [];
  if (host.kvmGid !== undefined) {
    devices.push('/dev/kvm');
    extraGids.push(host.kvmGid);
  }
  if (req.dockerSocket) {
    binds.push(`${DOCKER_SOCKET}:${DOCKER_SOCKET}`);
    if (host.dockerSocketGid !== undefined) extraGids.push(host.dockerSocketGid);
  }
  if (req.fuse) {
    devices.push('/dev/fuse');
    securityOpt.push('seccomp=unconfined');
  }
  let unmaskedProc = false;
  if (req.userNamespaceBuild) {
    const ids = req.userNamespaceBuild.subordinateIds;
    binds.push(`${ids}:/etc/subuid:ro`, `${ids}:/etc/subgid:ro`);
    // Docker masks parts of /proc, and the kernel refuses a fresh procfs in a new user namespace while any of it is
    // masked; this unmasks /proc for this container only, nothing like --privileged (no capability, no device).
    unmaskedProc = true;
  }
  if (host.uid !== 0) {
    env.PHAROS_UID = String(host.uid);
    env.PHAROS_GID = String(host.gid);
    if (host.user) env.PHAROS_USER = host.user;
    const gids = [...new Set(extraGids.filter((g) => g !== host.gid && g !== 0))];
    if (gids.length) env.PHAROS_EXTRA_GIDS = gids.join(',');
  }
  return {
    image: imageId,
    cmd: req.command?.length ? req.command : ['bash', '-l'],
    env,
    workingDir: req.cwd,
    binds,
    devices,
    securityOpt,
    ...(unmaskedProc ? { unmaskedProc } : {}),
    labels: { 'org.pharos.dev-container': req.label ?? 'run' },
    ...(req.network ? { network: req.network } : {}),
    tty: !!req.tty,
    interactive: !!req.interactive,
  };
}

export function hostFacts(): HostFacts {
  const gidOf = (path: string) => (existsSync(path) ? statSync(path).gid : undefined);
  return {
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    user: process.env.USER,
    kvmGid: gidOf('/dev/kvm'),
    dockerSocketGid: gidOf(DOCKER_SOCKET),
    store: storeToMount(),
  };
}

/** The dev container's image ID, loading its archive into the daemon when needed (after `docker rmi` or a cache restore). */
export async function readyDevContainer(docker: Docker, workspaceRoot: string, projectName: string, projectRoot: string): Promise<string> {
  const file = join(workspaceRoot, imageManifestPath(projectRoot));
  const manifest = readImageManifest(file, workspaceRoot, `${projectName}:image`);
  await ensureImage(docker, file, manifest, (t) => process.stderr.write(`pharos: ${t}`));
  return manifest.id;
}

/** The root of the project that builds the dev container, looked up in the workspace. */
export function devContainerRoot(context: ExecutorContext, project = DEV_CONTAINER_PROJECT): string {
  const root = context.projectsConfigurations?.projects[project]?.root;
  if (root === undefined) {
    throw new PharosError(`no project named "${project}" provides the dev container`, {
      step: taskLabel(context),
      next: 'set the "devContainer" option to the project that builds it',
    });
  }
  return root;
}

/** The dev container's image ID for an executor. */
export async function devContainerForTask(docker: Docker, context: ExecutorContext, project = DEV_CONTAINER_PROJECT): Promise<string> {
  return readyDevContainer(docker, context.root, project, devContainerRoot(context, project));
}

/** A cwd inside the workspace is kept (same path inside); anything else starts at the workspace root. */
export function containerCwd(workspaceRoot: string, cwd: string): string {
  const rel = relative(workspaceRoot, cwd);
  return rel.startsWith('..') || rel.startsWith('/') ? workspaceRoot : cwd;
}

export interface DevCommand {
  argv: string[];
  /** /dev/fuse plus an unconfined seccomp profile (`apptainer exec`). */
  fuse?: boolean;
  /** Read-only binds of files the command reads (secrets are mounted, never passed as text). */
  readOnlyFiles?: string[];
  /** `none`: the command runs without any network. */
  network?: 'none';
  userNamespaceBuild?: UserNamespaceBuild;
  /** Stream the command's output as it comes, besides capturing it. */
  echo?: NodeJS.WritableStream;
  /** As in ContainerSpec: what the command is, its time limit and how to raise it. */
  what?: string;
  timeLimit?: number;
  raiseLimit?: string;
}

export type DevCommandResult = CapturedRun;

/** Short-lived commands in one dev container image, as the calling user, with the workspace at its own path. */
export class DevContainerRunner {
  constructor(
    protected readonly docker: Docker,
    protected readonly devContainerImage: string,
    protected readonly workspaceRoot: string,
    protected readonly label: string,
  ) {}

  async run(call: DevCommand): Promise<DevCommandResult> {
    const spec = devContainerRunSpec(
      this.devContainerImage,
      {
        workspaceRoot: this.workspaceRoot,
        cwd: this.workspaceRoot,
        command: call.argv,
        fuse: call.fuse,
        extraBinds: (call.readOnlyFiles ?? []).map((f) => `${f}:${f}:ro`),
        network: call.network,
        userNamespaceBuild: call.userNamespaceBuild,
        label: this.label,
      },
      hostFacts(),
    );
    return runContainerCaptured(this.docker, { ...spec, what: call.what, timeLimit: call.timeLimit, raiseLimit: call.raiseLimit }, call.echo);
  }
}
