import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { isTerminal, type JobRecord, type QueueEntry } from '../../tools/slurm';
import { onInterrupt } from '../../utils/cleanup';
import { formatDuration } from '../../utils/duration';
import { formatError, PharosError } from '../../utils/errors';
import { JOB_END_MARKER, parseJobEnd, type ScriptEnd } from './batch-script';

/**
 * Following submitted jobs to their end: one batched squeue call per cycle for every job not yet ended, the job's log
 * streamed as it grows, its end read from scontrol or sacct. Ctrl-C or SIGTERM cancels what has not ended and waits
 * until Slurm has let it go. The loop takes Slurm as an interface, so it is tested without a cluster.
 */

/** What the follower asks of Slurm; tools/slurm.ts's functions are one such. */
export interface SlurmQueries {
  squeueStates(ids: string[]): Promise<Map<string, QueueEntry>>;
  finalJob(id: string): Promise<JobRecord | undefined>;
  scancel(ids: string[]): Promise<void>;
}

/** Milliseconds between polls: `first`, times `factor` each cycle, up to `max`. */
export interface PollSchedule {
  first: number;
  max: number;
  factor: number;
}

/**
 * A short job is seen to end within a quarter second; a long one costs the controller (shared by every user of the
 * cluster) one query per executor every 3 s. For comparison: sbatch --wait polls every 10 s at first.
 */
export const DEFAULT_POLL: PollSchedule = { first: 250, max: 3000, factor: 1.5 };
/**
 * Between two polls of the controller, the logs are read this often (a local read, or one NFS stat, costs the
 * controller nothing), so a job whose script has ended is asked about at once, not at the backed-off pace.
 */
export const LOG_CHECK_MS = 100;
/** The first wait after a script's end line (then backing off as usual): Slurm records the end milliseconds after it. */
const AFTER_END_MS = 50;
/** How long an interrupted follower waits for cancelled jobs to leave the queue. */
export const CANCEL_WAIT_MS = 30_000;
/** How often the end is asked for when squeue no longer lists a job but scontrol does not have it ended yet. */
const FINAL_TRIES = 5;
/** Bytes read from a log at a time, and the longest line kept back waiting for its end. */
const CHUNK = 4 << 20;
const MAX_PARTIAL = 64 << 10;

export interface FollowDeps {
  slurm: SlurmQueries;
  /** Where the jobs' logs, and the follower's own notes, go. */
  out: NodeJS.WritableStream;
  /** The log file of each job, streamed to `out` as it grows. */
  logFiles?: Map<string, string>;
  /** The name written before each log line of a job (`samtools` gives `samtools: …`), for several jobs sharing `out`. */
  labels?: Map<string, string>;
  pollMs?: PollSchedule;
  /** How often the logs are read between two polls (LOG_CHECK_MS). */
  logCheckMs?: number;
  sleep?(ms: number): Promise<void>;
  /** Cancel the jobs not yet ended when the follower is interrupted or fails (default); false leaves them to run. */
  cancelWhenStopped?: boolean;
  cancelWaitMs?: number;
}

/**
 * A job's log read from where the last read stopped, by byte offset. Only whole lines go out, so two jobs sharing
 * `out` never split each other's lines; the rest of a line waits for its end, or for the job's. Every read opens the
 * file anew: on NFS, close-to-open consistency is what makes a remote writer's bytes visible.
 */
class LogTail {
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);
  /** The script's end line, once seen. */
  end: ScriptEnd | undefined;

  constructor(
    private readonly file: string,
    private readonly out: NodeJS.WritableStream,
    private readonly label: string,
  ) {}

  /** Writes the new whole lines; true when the job's script has said it ended. */
  read(): boolean {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return false; // a pending job has no log yet
    }
    let ended = false;
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) {
        // Rewritten from the start: a requeued job opens its log anew.
        this.offset = 0;
        this.partial = Buffer.alloc(0);
      }
      while (this.offset < size) {
        const chunk = Buffer.alloc(Math.min(size - this.offset, CHUNK));
        const n = readSync(fd, chunk, 0, chunk.length, this.offset);
        if (!n) break;
        this.offset += n;
        if (this.take(chunk.subarray(0, n))) ended = true;
      }
    } finally {
      closeSync(fd);
    }
    return ended;
  }

  /** After the job's end: the rest of the log, its last line ended. */
  flush(): void {
    this.read();
    if (this.partial.length) this.emit(`${this.partial.toString('utf8')}\n`);
    this.partial = Buffer.alloc(0);
  }

  private take(bytes: Buffer): boolean {
    const data = Buffer.concat([this.partial, bytes]);
    // A line that never ends (a progress bar redrawn with \r) goes out in pieces rather than filling memory.
    const end = data.length > MAX_PARTIAL ? data.length : data.lastIndexOf(0x0a) + 1;
    this.partial = data.subarray(end);
    const whole = data.subarray(0, end).toString('utf8');
    return this.emit(end === data.length && !whole.endsWith('\n') ? `${whole}\n` : whole);
  }

  private emit(text: string): boolean {
    let ended = false;
    const shown: string[] = [];
    for (const line of text.split('\n').slice(0, -1)) {
      if (line.startsWith(JOB_END_MARKER)) {
        ended = true;
        this.end = parseJobEnd(line);
      } else shown.push(`${this.label}${line}\n`);
    }
    if (shown.length) this.out.write(shown.join(''));
    return ended;
  }
}

/** The end of a job squeue has let go; scontrol may lag a moment behind it. */
async function endOf(
  id: string,
  last: QueueEntry | undefined,
  slurm: SlurmQueries,
  poll: PollSchedule,
  sleep: (ms: number) => Promise<void>,
): Promise<JobRecord> {
  let wait = poll.first;
  let record: JobRecord | undefined;
  for (let tries = 1; ; tries++) {
    record = await slurm.finalJob(id);
    if ((record && isTerminal(record.state)) || tries >= FINAL_TRIES) break;
    await sleep(wait);
    wait = Math.min(poll.max, wait * poll.factor);
  }
  return (
    record ?? {
      id,
      state: 'UNKNOWN',
      exitCode: -1,
      signal: 0,
      nodes: last?.nodes ?? '',
      reason: 'neither scontrol nor sacct knows the job any more',
      source: 'none',
    }
  );
}

/**
 * Pending reasons that last until someone changes the job, its account or the partition (Slurm keeps such a job queued
 * unless EnforcePartLimits refuses it at submission): following one would wait forever. What each means, for the error.
 */
const STUCK_REASONS: Record<string, string> = {
  PartitionTimeLimit: "its time limit is over the partition's",
  PartitionNodeLimit: 'it asks for more nodes than the partition allows',
  BadConstraints: 'no node can satisfy its constraints',
  InvalidAccount: 'its account is invalid',
  InvalidQOS: 'its QOS is invalid',
  DependencyNeverSatisfied: 'a job it depends on ended in a way that can never satisfy the dependency',
};

/** Reasons not worth a line: the normal ones of a job about to run, or waiting for its chain. */
const QUIET_REASONS = new Set(['None', 'Dependency', '']);

/** The error for a job that can never start as submitted; the follower cancels it. */
function stuckJobError(id: string, reason: string): PharosError {
  return new PharosError(`Slurm job ${id} can never start as submitted: pending with reason ${reason} (${STUCK_REASONS[reason]}); it is cancelled`, {
    next:
      reason === 'DependencyNeverSatisfied'
        ? 'run again once the jobs it waits for succeed'
        : "change the job's request (the target's options or the script's #SBATCH lines: --time, --nodes, --partition, --account, --qos) to fit the partition (`scontrol show partition`), then run again",
  });
}

const RESEND_MS = 2000;

/** Cancels `ids` and waits, within `limitMs`, until squeue no longer shows them. Never throws: it runs while stopping. */
async function cancelJobs(ids: string[], deps: FollowDeps, sleep: (ms: number) => Promise<void>): Promise<void> {
  if (!ids.length) return;
  const limitMs = deps.cancelWaitMs ?? CANCEL_WAIT_MS;
  const listed = ids.join(',');
  deps.out.write(`pharos: cancelling Slurm job${ids.length > 1 ? 's' : ''} ${ids.join(', ')}\n`);
  try {
    await deps.slurm.scancel(ids);
    let left = ids;
    let waited = 0;
    let sentAt = 0;
    let wait = DEFAULT_POLL.first;
    for (;;) {
      const queue = await deps.slurm.squeueStates(left);
      left = left.filter((id) => queue.has(id) && !isTerminal(queue.get(id)!.state));
      if (!left.length) return;
      // A job still running a while after scancel: ask again (scancel is idempotent; the first may have been lost).
      if (waited - sentAt >= RESEND_MS) {
        await deps.slurm.scancel(left).catch(() => undefined);
        sentAt = waited;
      }
      if (waited >= limitMs) {
        deps.out.write(
          `pharos: Slurm still shows job(s) ${left.join(', ')} ${formatDuration(limitMs)} after scancel; check with \`squeue -j ${left.join(',')}\`\n`,
        );
        return;
      }
      await sleep(wait);
      waited += wait;
      wait = Math.min(1000, wait * 1.5);
    }
  } catch (err) {
    deps.out.write(
      `${formatError(err)}\npharos: job(s) ${ids.join(', ')} may still run: check with \`squeue -j ${listed}\`, cancel with \`scancel ${ids.join(' ')}\`\n`,
    );
  }
}

/** A job's end as Slurm recorded it, and its script's own run time where the log's end line gave it. */
export type FollowedJob = JobRecord & { scriptMs?: number };

/** Follows `ids` until every one has ended; the record of each. Stopped by a signal or an error, it cancels what has not ended. */
export async function followJobs(ids: string[], deps: FollowDeps): Promise<Map<string, FollowedJob>> {
  const poll = deps.pollMs ?? DEFAULT_POLL;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const checkMs = deps.logCheckMs ?? LOG_CHECK_MS;
  const unfinished = new Set(ids);
  const records = new Map<string, FollowedJob>();
  const tails = new Map<string, LogTail>();
  for (const id of ids) {
    const file = deps.logFiles?.get(id);
    if (file) tails.set(id, new LogTail(file, deps.out, deps.labels?.has(id) ? `${deps.labels.get(id)}: ` : ''));
  }
  // Run on Ctrl-C and again (a no-op once all have ended) when the loop ends, by success or by error.
  const stop = onInterrupt(() => (deps.cancelWhenStopped === false ? undefined : cancelJobs([...unfinished], deps, sleep)));
  /** Reads the logs of the jobs not yet ended; true when a script's end line is among what was new. */
  const readLogs = () => [...unfinished].map((id) => tails.get(id)?.read() ?? false).some(Boolean);
  /** Waits `ms`, reading the logs every checkMs; true as soon as a script's end line shows. */
  const waitUnlessEnded = async (ms: number): Promise<boolean> => {
    for (let waited = 0; waited < ms;) {
      const step = tails.size ? Math.min(checkMs, ms - waited) : ms;
      await sleep(step);
      waited += step;
      if (readLogs()) return true;
    }
    return false;
  };
  const pendingFor = new Map<string, string>();
  /**
   * Says why a pending job waits, once per change of reason. A reason that never clears fails one followed job at
   * once; among several (pharos submit --wait) only that job is cancelled, and Slurm cancels the jobs that wait on it
   * (--kill-on-invalid-dep), while independent ones go on, as Nx goes on with the tasks a failure does not block.
   */
  const notePending = async (id: string, entry: QueueEntry) => {
    if (entry.state !== 'PENDING' || pendingFor.get(id) === entry.reason) return;
    pendingFor.set(id, entry.reason);
    const label = deps.labels?.get(id);
    const prefix = `pharos: ${label ? `${label}: ` : ''}`;
    if (STUCK_REASONS[entry.reason]) {
      const error = stuckJobError(id, entry.reason);
      if (ids.length === 1) throw error;
      deps.out.write(`${prefix}${error.message}\n  next: ${error.details.next}\n`);
      await deps.slurm.scancel([id]);
      return;
    }
    if (!QUIET_REASONS.has(entry.reason)) deps.out.write(`${prefix}job ${id} is pending (${entry.reason})\n`);
  };
  const finish = (id: string, record: JobRecord) => {
    tails.get(id)?.flush();
    const scriptMs = tails.get(id)?.end?.ranMs;
    records.set(id, scriptMs === undefined ? record : { ...record, scriptMs });
    unfinished.delete(id);
  };
  try {
    let wait = poll.first;
    while (unfinished.size) {
      // A job whose script has ended is asked for its end straight away: scontrol has it as soon as Slurm does, a
      // cycle before squeue lets the job go. One that is still completing is asked again through squeue below.
      for (const id of [...unfinished].filter((j) => tails.get(j)?.end)) {
        const record = await deps.slurm.finalJob(id);
        if (record && isTerminal(record.state)) finish(id, record);
      }
      if (!unfinished.size) break;
      const queue = await deps.slurm.squeueStates([...unfinished]);
      let ending = false;
      for (const id of [...unfinished]) {
        if (tails.get(id)?.read()) ending = true;
        const entry = queue.get(id);
        if (entry) await notePending(id, entry);
        if (entry && !isTerminal(entry.state)) continue;
        finish(id, await endOf(id, entry, deps.slurm, tails.get(id)?.end ? { ...poll, first: AFTER_END_MS } : poll, sleep));
      }
      if (!unfinished.size) break;
      // Log growth alone does not change the pace: a chatty build says nothing about when it ends, and the controller
      // is shared. The script's end line does: Slurm records the end milliseconds later, so the poll comes at once,
      // then at a short pace until Slurm has it.
      if (ending) wait = AFTER_END_MS;
      const endSeen = await waitUnlessEnded(wait);
      wait = endSeen ? AFTER_END_MS : Math.min(poll.max, wait * poll.factor);
    }
  } finally {
    await stop();
  }
  return records;
}

/** Follows one job, streaming `logFile` to `deps.out`; its record. */
export async function followJob(id: string, logFile: string, deps: Omit<FollowDeps, 'logFiles'>): Promise<FollowedJob> {
  const records = await followJobs([id], { ...deps, logFiles: new Map([[id, logFile]]) });
  return records.get(id)!;
}

const NEXT: Record<string, string> = {
  TIMEOUT: "raise the job's time limit (the target's options or the script's #SBATCH --time), then run again",
  OUT_OF_MEMORY: "raise the job's memory (the target's options or the script's #SBATCH --mem), then run again",
  CANCELLED: 'it was cancelled (scancel, an administrator, or a job it waited for failed): run again once the cause is gone',
  NODE_FAIL: "the node failed, not the build: run again, and tell the cluster's administrators if it repeats",
  BOOT_FAIL: "the node did not boot, not the build's fault: run again, and tell the cluster's administrators if it repeats",
  PREEMPTED: 'a job of higher priority took the node: run again, or use a partition without preemption',
  DEADLINE: 'the job could not end before its deadline: run again with a later --deadline, or none',
};

/** Reasons that only restate the state. */
const RESTATED = new Set(['None', 'NonZeroExitCode', 'TimeLimit', 'OutOfMemory']);

/** The error for a job that did not succeed: its state, id, node(s), exit code and signal, and its log. */
export function jobFailure(record: JobRecord, logFile: string, tail?: string[]): PharosError {
  const { id, state, nodes } = record;
  const details = { ...(tail?.length ? { tail } : {}) };
  if (record.source === 'none') {
    return new PharosError(`Slurm no longer knows job ${id}, so how it ended is unknown; log: ${logFile}`, {
      ...details,
      next: `read the log; where accounting runs, \`sacct -j ${id}\` may still know. Run again`,
    });
  }
  const where = nodes ? `on node${/[,[]/.test(nodes) ? 's' : ''} ${nodes}` : 'before it ran on any node';
  const reason = record.reason && !RESTATED.has(record.reason) ? `, ${record.reason}` : '';
  return new PharosError(`Slurm job ${id} ended ${state} ${where} (exit ${record.exitCode}:${record.signal}${reason}); log: ${logFile}`, {
    ...details,
    next: NEXT[state] ?? `read ${logFile}: its last phase line says which step failed`,
  });
}
