import type Docker from 'dockerode';
import { workspaceRoot } from '@nx/devkit';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { workspaceId } from '../utils/leftovers';
import { pidIsAlive } from '../utils/pid';

/**
 * Who started a container: the workspace, the task, and the process that owns it. Every container Pharos creates
 * carries these labels, so a run that ended without cleaning up (kill -9, a CI job timeout, a lost machine) leaves
 * containers the next run can recognise as orphans and remove. Only containers whose owner is known to be dead are
 * removed: same workspace, same node, and a pid that no longer exists (or a boot that has passed).
 */

export const OWNER_LABEL = {
  workspace: 'org.pharos.workspace',
  task: 'org.pharos.task',
  pid: 'org.pharos.pid',
  node: 'org.pharos.node',
  /** The kernel's boot id: a process cannot outlive a reboot, whatever its pid says. */
  boot: 'org.pharos.boot',
  /** A pid means something only in its own pid namespace (Pharos itself may run in a container). */
  pidNamespace: 'org.pharos.pid-namespace',
} as const;

export interface ContainerOwner {
  /** Short sha256 of the workspace root: two clones on one daemon never judge each other's containers. */
  workspace: string;
  /** `project:target` of the Nx task, or what ran outside Nx. */
  task: string;
  pid: number;
  node: string;
  boot?: string;
  pidNamespace?: string;
}

export { workspaceId } from '../utils/leftovers';

const readOr = (read: () => string): string | undefined => {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
};

/** This process as an owner. Nx gives each task its workspace and target in the environment. */
export function currentOwner(env: NodeJS.ProcessEnv = process.env): ContainerOwner {
  const task = env.NX_TASK_TARGET_PROJECT && env.NX_TASK_TARGET_TARGET ? `${env.NX_TASK_TARGET_PROJECT}:${env.NX_TASK_TARGET_TARGET}` : 'a run outside Nx';
  return {
    workspace: workspaceId(env.NX_WORKSPACE_ROOT || workspaceRoot),
    task,
    pid: process.pid,
    node: hostname(),
    boot: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNamespace: readOr(() => readlinkSync('/proc/self/ns/pid')),
  };
}

export function ownerLabels(owner: ContainerOwner): Record<string, string> {
  const labels: Record<string, string> = {
    [OWNER_LABEL.workspace]: owner.workspace,
    [OWNER_LABEL.task]: owner.task,
    [OWNER_LABEL.pid]: String(owner.pid),
    [OWNER_LABEL.node]: owner.node,
  };
  if (owner.boot) labels[OWNER_LABEL.boot] = owner.boot;
  if (owner.pidNamespace) labels[OWNER_LABEL.pidNamespace] = owner.pidNamespace;
  return labels;
}

export interface LabelledContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface Orphan {
  id: string;
  name: string;
  task: string;
  pid: number;
}

/**
 * The containers among `containers` whose owner is known to have ended: this workspace, this node, and a pid that no
 * longer runs in our pid namespace, or a boot of this node that has passed. Anything else is kept, never guessed at:
 * another workspace, another node, a live pid, labels that are missing or garbled.
 */
export function orphansToReap(containers: LabelledContainer[], self: ContainerOwner, isAlive: (pid: number) => boolean = pidIsAlive): Orphan[] {
  return containers.flatMap((c): Orphan[] => {
    const label = (key: keyof typeof OWNER_LABEL) => c.labels[OWNER_LABEL[key]];
    if (label('workspace') !== self.workspace || label('node') !== self.node) return [];
    const pid = Number(label('pid'));
    if (!Number.isInteger(pid) || pid <= 0) return [];
    const orphan = { id: c.id, name: c.name, task: label('task') ?? 'an unknown task', pid };
    if (label('boot') && self.boot && label('boot') !== self.boot) return [orphan];
    if (label('pidNamespace') && self.pidNamespace && label('pidNamespace') !== self.pidNamespace) return [];
    if (pid === self.pid || isAlive(pid)) return [];
    return [orphan];
  });
}

/** The containers, running or not, that runs of this workspace (`self.workspace`) started, with their labels. */
export async function workspaceContainers(docker: Docker, self: Pick<ContainerOwner, 'workspace'>): Promise<LabelledContainer[]> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL.workspace}=${self.workspace}`] } });
  return listed.map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), labels: c.Labels ?? {} }));
}

export function reapedMessage(orphan: Orphan): string {
  return `pharos: removed container ${orphan.name} (${orphan.id.slice(0, 12)}), left behind by ${orphan.task} whose run (pid ${orphan.pid}) has ended`;
}

/**
 * Removes the containers a dead run of this workspace left on this node, saying which. Best effort: a container another run is
 * already removing, or a daemon that does not answer, is left for the next run (the work that follows reports the latter).
 */
export async function reapOrphans(docker: Docker, self: ContainerOwner, log: (line: string) => void): Promise<Orphan[]> {
  const orphans = orphansToReap(await workspaceContainers(docker, self).catch(() => []), self);
  const removed: Orphan[] = [];
  for (const orphan of orphans) {
    const gone = await docker
      .getContainer(orphan.id)
      .remove({ force: true })
      .then(() => true)
      .catch(() => false);
    if (!gone) continue;
    log(reapedMessage(orphan));
    removed.push(orphan);
  }
  return removed;
}
