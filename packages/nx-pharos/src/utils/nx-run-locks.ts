import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type HeldLock, NX_RUN_HOLDER, parseHolder, removeLockIfUnchanged } from './product-lock';
import { pidIsAlive } from './pid';

/**
 * Nx stores a task's outputs in its cache after the executor has returned. A product lock released by the executor
 * would let another run rewrite the product while this run's Nx copies it, so the cache entry would hold the other
 * run's files, or half of each. So a task that succeeded hands its locks to the Nx run (the executor's parent), and the
 * plugin's postTasksExecution, which Nx calls after every task's outputs are stored, removes them. Nx gives both hooks
 * the same run id, and the pre-hook gives it to every task through the environment.
 */
export const NX_RUN_ENV = 'PHAROS_NX_RUN';

/** Where a run lists the locks its tasks handed to it: one line of JSON per lock. */
export function runLocksFile(workspaceRoot: string, runId: string): string {
  return join(workspaceRoot, 'tmp', 'pharos', 'nx-runs', `${runId.replace(/[^A-Za-z0-9_-]/g, '_')}.jsonl`);
}

interface HandedOver {
  path: string;
  text: string;
}

/**
 * Hands each lock to the Nx run that forked this executor, when there is one to hand it to; returns how many were
 * handed over. Nx forks every executor (NX_FORKED_TASK_EXECUTOR), so the parent process is the run that caches.
 */
export function handLocksToNxRun(locks: HeldLock[], step: string, workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): number {
  const runId = env[NX_RUN_ENV];
  if (!runId || env.NX_FORKED_TASK_EXECUTOR !== 'true' || process.ppid <= 1 || locks.length === 0) return 0;
  const file = runLocksFile(workspaceRoot, runId);
  let handed = 0;
  for (const lock of locks) {
    const text = lock.handOver({ pid: process.ppid, type: `${NX_RUN_HOLDER}${step}, storing its outputs in the Nx cache` });
    if (!text) continue;
    mkdirSync(join(file, '..'), { recursive: true });
    appendFileSync(file, `${JSON.stringify({ path: lock.path, text } satisfies HandedOver)}\n`);
    handed++;
  }
  return handed;
}

function entriesOf(file: string): HandedOver[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        const e = JSON.parse(l) as HandedOver;
        return typeof e.path === 'string' && typeof e.text === 'string' ? [e] : [];
      } catch {
        return []; // a line cut short by a kill: its lock, if any, is reclaimed as stale by the next run
      }
    });
}

/**
 * Removes the locks the run `runId` was handed, and the lists of runs that ended without doing so (killed before
 * Nx's post hook), whose locks would otherwise wait for the next run to call them stale. Returns the removed locks.
 */
export function releaseNxRunLocks(workspaceRoot: string, runId: string): string[] {
  const own = runLocksFile(workspaceRoot, runId);
  const dir = join(own, '..');
  let files: string[];
  try {
    files = readdirSync(dir).map((f) => join(dir, f));
  } catch {
    return [];
  }
  const removed: string[] = [];
  const node = hostname();
  for (const file of files) {
    let entries: HandedOver[];
    try {
      entries = entriesOf(file);
    } catch {
      continue;
    }
    // Another node's run (a workspace on a shared file system) is not ours to judge.
    const ended = entries.every((e) => {
      const holder = parseHolder(e.text);
      return typeof holder === 'string' || (holder.node === node && !pidIsAlive(holder.pid));
    });
    if (file !== own && !ended) continue;
    for (const e of entries) if (removeLockIfUnchanged(e.path, e.text)) removed.push(e.path);
    rmSync(file, { force: true });
  }
  return removed;
}
