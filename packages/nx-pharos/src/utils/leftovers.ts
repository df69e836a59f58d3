import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pidIsAlive } from './pid';
import { removeLockOfEndedRun } from './product-lock';

/**
 * What a run killed with SIGKILL (a CI job timeout, the OOM killer) leaves behind, and how the next run finds it:
 * processes Pharos started in their own process group (Packer and its QEMU, the base-disk script), which no kill of
 * the Nx process tree reaches, and temporary trees (scratch folders, half-written products). Each carries its owner:
 * processes in their environment, trees in their name. The owner is the executor's pid on this node; once that pid
 * has ended, what it owned is a leftover. Anything else (another workspace, another node, a live owner) is kept.
 */

/** The environment variable every process an executor starts inherits: `<workspace id>:<node tag>:<pid>`. */
export const OWNER_ENV = 'PHAROS_OWNER';

export function workspaceId(root: string): string {
  return createHash('sha256').update(resolve(root)).digest('hex').slice(0, 12);
}

/** Four hex digits of the host name: enough to tell the nodes sharing a workspace apart in a file name. */
export function nodeTag(node = hostname()): string {
  return createHash('sha256').update(node).digest('hex').slice(0, 4);
}

/** `p<pid>@<node tag>`: a tree's owner, in its name. */
export function ownerTag(pid = process.pid, node = hostname()): string {
  return `p${pid}@${nodeTag(node)}`;
}

/** A temporary tree's name: `<prefix>-p<pid>@<node>-<random>`, so the next run can tell whether its owner has ended. */
export function ownedName(prefix: string): string {
  return `${prefix}-${ownerTag()}-${randomBytes(3).toString('hex')}`;
}

/** Marks this process, and so every process it starts, as owned by it in `workspaceRoot`. */
export function markOwner(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): void {
  env[OWNER_ENV] = `${workspaceId(workspaceRoot)}:${nodeTag()}:${process.pid}`;
}

const OWNED_TREE = /(?:^|[-.])p(\d+)@([0-9a-f]{4})-[0-9a-f]{6}$/;

/** The owner pid a tree's name holds, when it is one of this node's; undefined for anything else. */
export function treeOwner(name: string, tag = nodeTag()): number | undefined {
  const m = OWNED_TREE.exec(name);
  return m && m[2] === tag ? Number(m[1]) : undefined;
}

/** The owner pid in a process's environment (`/proc/<pid>/environ`), when it is this workspace's and node's. */
export function processOwner(environ: string, workspace: string, tag = nodeTag()): number | undefined {
  const entry = environ.split('\0').find((e) => e.startsWith(`${OWNER_ENV}=`));
  const [ws, node, pid] = (entry?.slice(OWNER_ENV.length + 1) ?? '').split(':');
  return ws === workspace && node === tag && /^\d+$/.test(pid ?? '') ? Number(pid) : undefined;
}

export interface Reaped {
  what: string;
  owner: number;
}

/** Processes of this workspace whose owner has ended, killed with SIGKILL (they were left running, not asked to stop). */
function reapProcesses(workspace: string, isAlive: (pid: number) => boolean): Reaped[] {
  const reaped: Reaped[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return reaped;
  }
  for (const pid of pids.map(Number)) {
    if (pid === process.pid) continue;
    let owner: number | undefined;
    let command: string;
    try {
      owner = processOwner(readFileSync(`/proc/${pid}/environ`, 'latin1'), workspace);
      command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ').slice(0, 80);
    } catch {
      continue; // ended meanwhile, or not ours to read
    }
    if (owner === undefined || owner === process.pid || isAlive(owner)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      reaped.push({ what: `process ${pid} (${command})`, owner });
    } catch {
      // ended meanwhile
    }
  }
  return reaped;
}

/** Mount points at or under `dir`, deepest first (debootstrap mounts /proc and /sys in its target). */
function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

/** Removes a tree, after unmounting what a killed chroot left mounted in it; keeps it when something stays mounted. */
function removeTree(path: string): boolean {
  for (const m of mountsUnder(path)) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // checked below
    }
  }
  if (mountsUnder(path).length) return false;
  rmSync(path, { recursive: true, force: true });
  return true;
}

/**
 * Owned trees directly in each of `parents` (and, with `depth`, in their subfolders) whose owner has ended; with
 * `locks`, also the product locks of ended runs.
 */
function reapTrees(parents: string[], depth: number, isAlive: (pid: number) => boolean, shown: (p: string) => string, locks = false): Reaped[] {
  const reaped: Reaped[] = [];
  const visit = (dir: string, left: number) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (locks && e.isFile() && e.name.endsWith('.lock')) {
        const holder = removeLockOfEndedRun(path, isAlive);
        if (holder) reaped.push({ what: `the lock ${shown(path)} of ${holder}`, owner: -1 });
        continue;
      }
      const owner = treeOwner(e.name);
      if (owner !== undefined && owner !== process.pid && !isAlive(owner)) {
        if (removeTree(path)) reaped.push({ what: shown(path), owner });
      } else if (e.isDirectory() && !e.isSymbolicLink() && left > 0) visit(path, left - 1);
    }
  };
  for (const parent of parents) visit(parent, depth);
  return reaped;
}

/**
 * Reaps what ended runs of this workspace left on this node: their processes, their scratch trees under tmp/ and the
 * system's temporary folder, half-written products and product locks in dist/. Returns one message per thing removed.
 */
export function reapLeftovers(workspaceRoot: string, isAlive: (pid: number) => boolean = pidIsAlive): string[] {
  const shown = (p: string) => (p.startsWith(`${workspaceRoot}/`) ? relative(workspaceRoot, p) : p);
  const processes = reapProcesses(workspaceId(workspaceRoot), isAlive);
  const tmp = join(workspaceRoot, 'tmp');
  const trees = [
    ...reapTrees(existsSync(tmp) ? [tmp] : [], 1, isAlive, shown),
    ...reapTrees([tmpdir()], 0, isAlive, shown),
    ...reapTrees([join(workspaceRoot, 'dist')], 6, isAlive, shown, true),
  ];
  return [...processes, ...trees].map((r) =>
    r.owner < 0 ? `pharos: removed ${r.what}, which has ended` : `pharos: removed ${r.what}, left behind by a run (pid ${r.owner}) that has ended`,
  );
}
