import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onInterrupt } from './cleanup';
import { PharosError } from './errors';
import { pidIsAlive } from './pid';

/**
 * One run at a time per product. Two runs of one target (two terminals, two CI jobs, `--skip-nx-cache` twice) would
 * otherwise remove, write and tag the same product at once and both report success with mixed results. The lock is a
 * file beside the product, created with O_EXCL, naming its holder so a later run can tell a live holder (wait) from a
 * dead one (reclaim) and never has to guess about one it cannot see (refuse).
 */

/** What the lock file holds, as JSON. Snake case: other tools (the overlays' `exec`, people with `cat`) read it too. */
export interface LockHolder {
  /** What holds it, e.g. `nx-task slurm:deb-trixie`. */
  type: string;
  pid: number;
  node: string;
  job_id: string | null;
  created_at: string;
}

export type JobState = 'running' | 'ended' | 'unknown';

export interface LockOptions {
  type: string;
  /** Fail at once when another run holds the lock. */
  noWait?: boolean;
  /** How long to wait for a live holder; default PHAROS_LOCK_WAIT_MINUTES, else 6 hours. */
  waitLimitMs?: number;
  /** First poll interval; it doubles up to 2 s. */
  pollMs?: number;
  /** The lock's path as messages show it. */
  shown?: string;
  /** The step errors name (the task). */
  step?: string;
  log?: (text: string) => void;
  /** Whether a Slurm job still runs: for a holder on another node, the job id is all that can be checked. */
  jobState?: (jobId: string) => Promise<JobState>;
  env?: NodeJS.ProcessEnv;
}

export interface HeldLock {
  path: string;
  holder: LockHolder;
  /** Removes the lock if it is still ours; also runs on Ctrl-C. After a hand-over it leaves the lock to its new holder. */
  release: () => Promise<void>;
  /**
   * Passes the lock to another live process on this node, with no moment in which it is free, and returns the lock
   * file's new text; undefined when the lock is no longer ours. For the Nx run that stores the product in its cache
   * after the executor has returned: another run writing the product then would put its files in this run's entry.
   */
  handOver: (to: { pid: number; type: string }) => string | undefined;
}

export const LOCK_WAIT_ENV = 'PHAROS_LOCK_WAIT_MINUTES';
/** The type of a lock handed to an Nx run (utils/nx-run-locks.ts). */
export const NX_RUN_HOLDER = 'nx-run ';
export const LOCK_NO_WAIT_ENV = 'PHAROS_LOCK_NO_WAIT';
const DEFAULT_WAIT_MS = 6 * 3600_000;
const MAX_POLL_MS = 2000;
const REPORT_EVERY_MS = 30_000;
/** An empty or partial lock younger than this may be one being written right now (open, then write). */
const SETTLE_MS = 5000;

/** `<product>.lock`, beside the product's folder or main file (never inside a folder that is renamed into place). */
export function lockPathOf(product: string): string {
  return `${product.replace(/\/+$/, '')}.lock`;
}

export function describeHolder(h: LockHolder): string {
  return `${h.type} (pid ${h.pid} on ${h.node}${h.job_id ? `, Slurm job ${h.job_id}` : ''}, since ${h.created_at})`;
}

/** The holder a lock file names, or why the text is not a lock. */
export function parseHolder(text: string): LockHolder | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not valid JSON: ${(err as Error).message}`;
  }
  const h = value as Partial<LockHolder> | null;
  if (!h || typeof h !== 'object') return 'not a JSON object';
  if (typeof h.type !== 'string' || typeof h.node !== 'string' || !h.node) return 'no "type" or "node"';
  if (!Number.isInteger(h.pid) || (h.pid as number) <= 0) return 'no valid "pid"';
  if (h.job_id !== null && typeof h.job_id !== 'string') return 'no valid "job_id"';
  if (typeof h.created_at !== 'string' || Number.isNaN(Date.parse(h.created_at))) return 'no valid "created_at"';
  return h as LockHolder;
}

/** "6h", "1m30s", "12s": how long something took or may take, for messages. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts = [Math.floor(s / 3600) && `${Math.floor(s / 3600)}h`, Math.floor(s / 60) % 60 && `${Math.floor(s / 60) % 60}m`, s % 60 && `${s % 60}s`];
  return parts.filter(Boolean).join('') || `${s}s`;
}

const ENDED_JOB_STATES = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY']);

/**
 * Asks `squeue` about a job. Without squeue on PATH, or when the controller does not answer, the job cannot be
 * checked. (A tools/ module for Slurm will own this once there is one; utils/ holds it until then.)
 */
export async function squeueJobState(jobId: string, env: NodeJS.ProcessEnv = process.env): Promise<JobState> {
  const onPath = (env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      return dir !== '' && statSync(join(dir, 'squeue')).isFile();
    } catch {
      return false;
    }
  });
  if (!onPath) return 'unknown';
  // Imported here: the modules that import this one include what the runtime inputs run (`recipe-sources` reaches it
  // through the source cache), and loading execa costs more than such an input's work.
  const { execa } = await import('execa');
  const r = await execa('squeue', ['-h', '-j', jobId, '-o', '%T'], { reject: false, timeout: 15_000, env });
  if (r.exitCode === 0) {
    const states = r.stdout.split('\n').filter((l) => l.trim());
    return states.every((s) => ENDED_JOB_STATES.has(s.trim())) ? 'ended' : 'running';
  }
  // A job past MinJobAge is forgotten: squeue calls it invalid.
  return /invalid job id/i.test(r.stderr) ? 'ended' : 'unknown';
}

type Verdict =
  | { state: 'gone' }
  | { state: 'settling' }
  | { state: 'held'; holder: LockHolder }
  | { state: 'stale'; why: string; seen: Seen }
  | { state: 'unchecked'; holder: LockHolder; why: string; next: string };

/** The lock file as it was judged, so a reclaim removes that file and no other. */
interface Seen {
  text: string;
  ino: number;
  mtimeMs: number;
}

async function judge(path: string, shown: string, node: string, jobState: (id: string) => Promise<JobState>): Promise<Verdict> {
  let seen: Seen;
  try {
    const st = statSync(path);
    seen = { text: readFileSync(path, 'utf8'), ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'gone' };
    throw err;
  }
  const holder = seen.text.trim() ? parseHolder(seen.text) : 'empty';
  if (typeof holder === 'string') {
    if (Date.now() - seen.mtimeMs < SETTLE_MS) return { state: 'settling' };
    return { state: 'stale', seen, why: holder === 'empty' ? 'it is empty (a run was killed while taking it)' : `it is not a lock (${holder})` };
  }
  const who = describeHolder(holder);
  if (holder.node === node) {
    return pidIsAlive(holder.pid) ? { state: 'held', holder } : { state: 'stale', seen, why: `its holder ${who} has ended` };
  }
  const remove = `then remove ${shown} and run again`;
  if (!holder.job_id) {
    return {
      state: 'unchecked',
      holder,
      why: `a run on another node, and Pharos cannot tell from ${node} whether it is still running`,
      next: `check on ${holder.node} that pid ${holder.pid} has ended (ps -p ${holder.pid}), ${remove}`,
    };
  }
  const job = await jobState(holder.job_id);
  if (job === 'ended') return { state: 'stale', seen, why: `its holder ${who} has ended (Slurm job ${holder.job_id} is no longer running)` };
  if (job === 'running') return { state: 'held', holder };
  return {
    state: 'unchecked',
    holder,
    why: `a run on another node, and whether Slurm job ${holder.job_id} has ended cannot be checked here (no squeue on PATH, or Slurm did not answer)`,
    next: `check that Slurm job ${holder.job_id} has ended (squeue -j ${holder.job_id} on the cluster), ${remove}`,
  };
}

/**
 * Creates the lock with O_EXCL: false when it exists, else the first folder it had to create (removed again at release
 * when still empty, so a run that failed leaves nothing in dist/).
 */
function tryCreate(path: string, holder: LockHolder): false | { madeDir?: string } {
  const madeDir = mkdirSync(dirname(path), { recursive: true });
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    // ENOENT: a run releasing its lock removed the folder it had made; the next attempt makes it again.
    if (['EEXIST', 'ENOENT'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } catch (err) {
    closeSync(fd);
    unlinkSync(path);
    throw err;
  }
  closeSync(fd);
  return { madeDir };
}

/**
 * Removes the stale lock that was judged, and no other: two waiters may judge the same dead lock, and the second must
 * not remove the lock the first has just taken. So it is moved aside first (atomic), and put back when it turns out to
 * be a newer one.
 */
function reclaim(path: string, seen: Seen): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const st = statSync(aside);
  const same = st.ino === seen.ino && st.mtimeMs === seen.mtimeMs && readFileSync(aside, 'utf8') === seen.text;
  if (!same) {
    try {
      linkSync(aside, path);
    } catch {
      // A third run took the lock in this instant; the one we moved belongs to a run that will find it gone at release.
    }
  }
  unlinkSync(aside);
}

function isHeldBy(path: string, holder: LockHolder): boolean {
  try {
    const current = parseHolder(readFileSync(path, 'utf8'));
    return typeof current !== 'string' && current.pid === holder.pid && current.created_at === holder.created_at && current.node === holder.node;
  } catch {
    return false;
  }
}

/** Replaces our lock file's text by rename, so a waiter sees the old holder or the new one, never no lock. */
function handOver(path: string, from: LockHolder, to: LockHolder): string | undefined {
  if (!isHeldBy(path, from)) return undefined;
  const text = `${JSON.stringify(to)}\n`;
  const next = `${path}.handover-${process.pid}-${randomBytes(3).toString('hex')}`;
  writeFileSync(next, text, { mode: 0o644 });
  renameSync(next, path);
  return text;
}

/** Removes a handed-over lock if it still holds `text` (nobody reclaimed and retook it in between). */
export function removeLockIfUnchanged(path: string, text: string): boolean {
  try {
    if (readFileSync(path, 'utf8') !== text) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the lock at `path` if its holder ran on this node and has ended, the way a waiting run reclaims it; returns
 * the holder's description then. For the leftovers sweep: a killed run's lock would otherwise wait for the next run of
 * its own target.
 */
export function removeLockOfEndedRun(path: string, isAlive: (pid: number) => boolean = pidIsAlive): string | undefined {
  let seen: Seen;
  try {
    const st = statSync(path);
    seen = { text: readFileSync(path, 'utf8'), ino: st.ino, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
  const holder = parseHolder(seen.text);
  if (typeof holder === 'string' || holder.node !== hostname() || holder.pid === process.pid || isAlive(holder.pid)) return undefined;
  reclaim(path, seen);
  return describeHolder(holder);
}

function removeIfOurs(path: string, holder: LockHolder, madeDir?: string): void {
  if (isHeldBy(path, holder)) {
    try {
      unlinkSync(path);
    } catch {
      // Gone already: not ours to remove.
    }
  }
  for (let dir = dirname(path); madeDir && dir.startsWith(madeDir); dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      break; // not empty: the product, or another run's lock
    }
  }
}

function waitLimit(options: LockOptions, env: NodeJS.ProcessEnv): number {
  if (options.waitLimitMs !== undefined) return options.waitLimitMs;
  const minutes = env[LOCK_WAIT_ENV];
  if (!minutes) return DEFAULT_WAIT_MS;
  if (!/^\d+(\.\d+)?$/.test(minutes)) throw new PharosError(`${LOCK_WAIT_ENV}="${minutes}" is not a number of minutes`, { step: options.step });
  return Number(minutes) * 60_000;
}

/**
 * Takes the lock at `path`: at once when free; after removing it, with a message, when its holder has ended; after
 * waiting for a live holder (or failing at once with `noWait`). A holder it cannot check is an error naming the holder
 * and how to remove the lock.
 */
export async function acquireLock(path: string, options: LockOptions): Promise<HeldLock> {
  const env = options.env ?? process.env;
  const shown = options.shown ?? path;
  const log = options.log ?? ((t: string) => process.stdout.write(t));
  const jobState = options.jobState ?? ((id: string) => squeueJobState(id, env));
  const limit = waitLimit(options, env);
  const node = hostname();
  const started = Date.now();
  let reported = 0;
  let poll = options.pollMs ?? 100;
  for (;;) {
    const holder: LockHolder = { type: options.type, pid: process.pid, node, job_id: env.SLURM_JOB_ID || null, created_at: new Date().toISOString() };
    const created = tryCreate(path, holder);
    if (created) {
      if (reported) log(`pharos: took ${shown} after waiting ${formatDuration(Date.now() - started)}\n`);
      let handedOver = false;
      const removeOnInterrupt = onInterrupt(() => {
        if (!handedOver) removeIfOurs(path, holder, created.madeDir);
      });
      return {
        path,
        holder,
        release: removeOnInterrupt,
        handOver(to) {
          const text = handOver(path, holder, { ...holder, ...to, created_at: new Date().toISOString() });
          if (text) handedOver = true;
          return text;
        },
      };
    }
    const verdict = await judge(path, shown, node, jobState);
    if (verdict.state === 'gone') continue;
    if (verdict.state === 'stale') {
      log(`pharos: removing the stale lock ${shown}: ${verdict.why}\n`);
      reclaim(path, verdict.seen);
      continue;
    }
    if (verdict.state === 'unchecked') {
      throw new PharosError(`${shown} is held by ${describeHolder(verdict.holder)}, ${verdict.why}`, { step: options.step, next: verdict.next });
    }
    if (verdict.state === 'held') assertMayWait(verdict.holder, { shown, options, node, limit, waited: Date.now() - started });
    if (verdict.state === 'held' && Date.now() - reported >= REPORT_EVERY_MS) {
      const who = describeHolder(verdict.holder);
      log(
        reported
          ? `pharos: still waiting for ${shown} (${formatDuration(Date.now() - started)}): held by ${who}\n`
          : `pharos: waiting for ${shown}: held by ${who}; up to ${formatDuration(limit)} (--noWait fails at once instead)\n`,
      );
      reported = Date.now();
    }
    await sleep(poll);
    poll = Math.min(poll * 2, MAX_POLL_MS);
  }
}

function assertMayWait(holder: LockHolder, at: { shown: string; options: LockOptions; node: string; limit: number; waited: number }): void {
  const { shown, options } = at;
  const who = describeHolder(holder);
  if (holder.pid === process.pid && holder.node === at.node) {
    throw new PharosError(`${shown} is already held by this process: ${who}`, { step: options.step, next: 'a task took its product lock twice; report it' });
  }
  if (holder.pid === process.ppid && holder.node === at.node && holder.type.startsWith(NX_RUN_HOLDER)) {
    // Handed to the Nx run this task belongs to: it ends only after this task, so waiting would never end.
    throw new PharosError(`${shown} is held by the Nx run this task belongs to: ${who}`, {
      step: options.step,
      next: 'two tasks of one run write one product; report it',
    });
  }
  if (options.noWait) {
    throw new PharosError(`another run holds ${shown}: ${who}`, {
      step: options.step,
      next: 'wait for that run to finish, or run again without --noWait to wait for it',
    });
  }
  if (at.waited >= at.limit) {
    throw new PharosError(`gave up after waiting ${formatDuration(at.waited)} for ${shown}, held by ${who}`, {
      step: options.step,
      next: `if that run is stuck, stop it (kill ${holder.pid} on ${holder.node}), then run again; ${LOCK_WAIT_ENV} sets how long to wait`,
    });
  }
}

/** Runs `body` holding the lock at `path`, and releases it afterwards, also on failure and Ctrl-C. */
export async function withLock<T>(path: string, options: LockOptions, body: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, options);
  try {
    return await body();
  } finally {
    await lock.release();
  }
}
