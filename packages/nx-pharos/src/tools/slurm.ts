import { execa } from 'execa';
import { formatDuration } from '../utils/duration';
import { PharosError } from '../utils/errors';

/**
 * The one module that owns how Pharos talks to Slurm: its client commands (sbatch, squeue, scontrol, sacct, scancel),
 * each call bounded by a timeout, with the caller's environment passed through (SLURM_CONF, the PATH a `module load`
 * made). What they print is read by the pure parsers below, which the specs feed outputs written after Slurm's man
 * pages and sources: `sbatch --parsable` prints `id` or `id;cluster`, `scontrol -o` one line of Key=Value pairs per
 * job, `sacct -P` fields joined by `|`.
 */

export interface SlurmCallOptions {
  /** How long one call may wait for the controller; default SLURM_CALL_TIMEOUT_MS. */
  timeoutMs?: number;
  /** The environment the command runs in (whole, not merged); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** The client commands retry a silent controller for MessageTimeout (10 s by default) first; 20 s leaves them room. */
export const SLURM_CALL_TIMEOUT_MS = 20_000;

/** What squeue says of a job still in the queue. */
export interface QueueEntry {
  state: string;
  /** The node list, '' while pending. */
  nodes: string;
  /** Why it waits (Priority, Resources, Dependency…), `None` once it runs. */
  reason: string;
}

/** A job as it ended, from scontrol (within MinJobAge) or sacct (where accounting runs). */
export interface JobRecord {
  id: string;
  /** The base state: `COMPLETED`, `TIMEOUT`, `CANCELLED` (sacct's "by <uid>" dropped)… */
  state: string;
  /** The exit code of the batch script, and the signal that ended it (0 for none): ExitCode `code:signal`. */
  exitCode: number;
  signal: number;
  /** The nodes the job ran on, '' when it never ran. */
  nodes: string;
  reason?: string;
  /** The job's output file as Slurm resolved it. */
  stdout?: string;
  /** `[days-]hours:minutes:seconds`, as scontrol prints it. */
  runTime?: string;
  /** Who told: 'none' when neither knew the job any more (its state is then UNKNOWN). */
  source: 'scontrol' | 'sacct' | 'none';
}

/** The states in which a job has ended without success. */
export const FAILURE_STATES = ['FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'CANCELLED', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED'] as const;

/** `CANCELLED by 1000` (sacct), `CANCELLED+` (a truncated column): the state's name alone. */
export function baseState(state: string): string {
  return state.trim().split(/\s+/)[0].replace(/\+$/, '').toUpperCase();
}

/**
 * Whether a job in `state` has ended. Every other state (PENDING, RUNNING, COMPLETING, CONFIGURING, REQUEUED,
 * SUSPENDED, STAGE_OUT…) may still change: COMPLETING has run its script but not yet released its nodes.
 */
export function isTerminal(state: string): boolean {
  const base = baseState(state);
  return base === 'COMPLETED' || (FAILURE_STATES as readonly string[]).includes(base);
}

export function succeeded(record: JobRecord): boolean {
  return baseState(record.state) === 'COMPLETED' && record.exitCode === 0 && record.signal === 0;
}

/** The job id of `sbatch --parsable`'s output: its last line (a site's submit filter may print before it), before `;cluster`. */
export function parseSbatchParsable(stdout: string): { id: string; cluster?: string } | undefined {
  const last = stdout.trim().split('\n').at(-1)?.trim() ?? '';
  const m = /^(\d+)(?:;(\S+))?$/.exec(last);
  if (!m) return undefined;
  return m[2] ? { id: m[1], cluster: m[2] } : { id: m[1] };
}

/** The format squeueStates asks for, and parseSqueue reads. */
export const SQUEUE_FORMAT = '%i|%T|%N|%r';

/** squeue --noheader -o '%i|%T|%N|%r': one `id|STATE|nodes|reason` line per job. */
export function parseSqueue(stdout: string): Map<string, QueueEntry> {
  const jobs = new Map<string, QueueEntry>();
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [id, state = '', nodes = '', ...reason] = line.trim().split('|');
    jobs.set(id, { state: state.trim(), nodes: nodes.trim(), reason: reason.join('|').trim() });
  }
  return jobs;
}

/** `ExitCode=3:0`: the script's exit code and the signal that ended it. */
function exitStatus(text: string | undefined): { exitCode: number; signal: number } {
  const m = /^(\d+):(\d+)$/.exec(text?.trim() ?? '');
  return m ? { exitCode: Number(m[1]), signal: Number(m[2]) } : { exitCode: -1, signal: 0 };
}

/** Slurm writes an unset value as `(null)`, sacct an unassigned node list as `None assigned`. */
function nodeList(text: string | undefined): string {
  const t = text?.trim() ?? '';
  return t === '(null)' || t === 'None assigned' || t === 'None' ? '' : t;
}

/**
 * One `scontrol show job -o` line as its Key=Value pairs. Keys hold `:` and `/` (AllocNode:Sid, CPUs/Task), values may
 * hold `=` (ReqTRES=cpu=1,mem=1G); a word without `=` continues the previous value (a Comment with spaces).
 */
function scontrolFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last: string | undefined;
  for (const word of line.trim().split(/\s+/)) {
    const m = /^([A-Za-z][\w:/]*)=(.*)$/.exec(word);
    if (m) {
      last = m[1];
      fields[last] = m[2];
    } else if (last !== undefined) {
      fields[last] += ` ${word}`;
    }
  }
  return fields;
}

/** The record of job `id` (or the first job) in `scontrol show job -o` output; undefined when it holds none. */
export function parseScontrolJob(stdout: string, id?: string): JobRecord | undefined {
  const jobs = stdout
    .split('\n')
    .filter((l) => l.trim())
    .map(scontrolFields)
    .filter((f) => f.JobId !== undefined && f.JobState !== undefined);
  const f = jobs.find((j) => id === undefined || j.JobId === id);
  if (!f) return undefined;
  return {
    id: f.JobId,
    state: baseState(f.JobState),
    ...exitStatus(f.ExitCode),
    nodes: nodeList(f.NodeList),
    ...(f.Reason !== undefined ? { reason: f.Reason } : {}),
    ...(f.StdOut ? { stdout: f.StdOut } : {}),
    ...(f.RunTime !== undefined ? { runTime: f.RunTime } : {}),
    source: 'scontrol',
  };
}

/** The fields sacct is asked for, in order. */
export const SACCT_FIELDS = 'JobID,State,ExitCode,NodeList';

/** The allocation line of job `id` in `sacct -n -P -X -o JobID,State,ExitCode,NodeList` output. */
export function parseSacct(stdout: string, id: string): JobRecord | undefined {
  for (const line of stdout.split('\n')) {
    const [jobId, state, exitCode, nodes] = line.trim().split('|');
    if (jobId !== id || !state) continue;
    const by = /^\S+\s+by\s+(\S+)$/.exec(state.trim());
    return {
      id,
      state: baseState(state),
      ...exitStatus(exitCode),
      nodes: nodeList(nodes),
      ...(by ? { reason: `cancelled by uid ${by[1]}` } : {}),
      source: 'sacct',
    };
  }
  return undefined;
}

interface CallResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What each call is part of, for the error's step. */
type Step = 'submit a Slurm job' | 'follow Slurm jobs' | 'cancel Slurm jobs';

const CONTROLLER_SILENT = /Unable to contact slurm controller|Socket timed out on send\/recv|Zero Bytes were transmitted or received/i;
const GONE_JOB = /Invalid job id specified/i;
/** Lines of stderr worth quoting: Slurm's own error lines, not the blank ones. */
const stderrLines = (stderr: string) =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

export function notOnPathError(command: string, step: string): PharosError {
  return new PharosError(`${command} is not on PATH, so Pharos cannot run targets as Slurm jobs`, {
    step,
    next: 'load the Slurm client so sbatch, squeue, scontrol and scancel are on PATH (e.g. `module load slurm`), or set PHAROS_ENGINE=local to run targets on this machine',
  });
}

export function controllerSilentError(command: string, timeoutMs: number | undefined, stderr: string, step: string): PharosError {
  const what =
    timeoutMs === undefined
      ? `${command} could not reach the Slurm controller`
      : `${command} timed out after ${formatDuration(timeoutMs)}: the Slurm controller did not answer`;
  const tail = stderrLines(stderr);
  return new PharosError(what, {
    step,
    ...(tail.length ? { tail } : {}),
    next: 'check that the controller answers (`scontrol ping`) and that SLURM_CONF points at this cluster, then run again',
  });
}

/**
 * Runs one client command. A missing command and a silent controller are errors here, the same for every command;
 * any other failure is the caller's to read.
 */
/** Commands that change nothing, or nothing twice: run again when a signal, not the command, ended them. */
const IDEMPOTENT = new Set(['squeue', 'scontrol', 'sacct', 'scancel']);

async function call(command: string, args: string[], step: Step, opts: SlurmCallOptions = {}): Promise<CallResult> {
  const timeoutMs = opts.timeoutMs ?? SLURM_CALL_TIMEOUT_MS;
  const run = () => execa(command, args, { reject: false, timeout: timeoutMs, env: opts.env ?? process.env, extendEnv: false, stdin: 'ignore' });
  let r = await run();
  // On Ctrl-C, Nx signals the task's whole process tree as it stands; a scancel this task started a moment before,
  // to cancel its job, dies with it and cancels nothing (seen on the loopback cluster), so it is run again.
  for (let again = 0; again < 3 && r.signal && !r.timedOut && IDEMPOTENT.has(command); again++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    r = await run();
  }
  if ((r as { code?: string }).code === 'ENOENT') throw notOnPathError(command, step);
  const stderr = String(r.stderr ?? '');
  if (r.timedOut) throw controllerSilentError(command, timeoutMs, stderr, step);
  if (r.exitCode !== 0 && CONTROLLER_SILENT.test(stderr)) throw controllerSilentError(command, undefined, stderr, step);
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr };
}

function commandFailed(command: string, r: CallResult, step: Step): PharosError {
  const tail = stderrLines(r.stderr);
  return new PharosError(`${command} failed with exit code ${r.exitCode}${tail.length ? '' : ' and no message'}`, { step, ...(tail.length ? { tail } : {}) });
}

/** `sbatch --parsable <args> <script>`: the new job's id. A request Slurm refuses is an error quoting its reason. */
export async function sbatch(scriptPath: string, args: string[], opts?: SlurmCallOptions): Promise<string> {
  const step = 'submit a Slurm job';
  const r = await call('sbatch', ['--parsable', ...args, scriptPath], step, opts);
  const parsed = r.exitCode === 0 ? parseSbatchParsable(r.stdout) : undefined;
  if (parsed) return parsed.id;
  const lines = stderrLines(r.stderr);
  const reason = lines.find((l) => /error:/i.test(l)) ?? lines.at(-1);
  if (r.exitCode !== 0 && reason) {
    throw new PharosError(`Slurm refused the job ${scriptPath}: ${reason.replace(/^sbatch:\s*error:\s*/i, '')}`, {
      step,
      ...(lines.length > 1 ? { tail: lines } : {}),
      next: "check the partition and resources the job asks for (the target's options, or the script's #SBATCH lines) against what the cluster offers (`sinfo -s`)",
    });
  }
  throw new PharosError(`sbatch printed no job id (exit code ${r.exitCode})`, { step, tail: [...stderrLines(r.stdout), ...lines] });
}

/** squeue reads filters from SQUEUE_* variables (SQUEUE_STATES, SQUEUE_USERS…): a user's would hide our jobs. */
function withoutSqueueFilters(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('SQUEUE_')));
}

/**
 * The queue entries of `ids` in one squeue call. squeue lists pending, running and completing jobs; an id absent from
 * the map has ended (or was never known). With one id that Slurm has forgotten, squeue fails "Invalid job id
 * specified" instead of printing nothing; that is the same answer.
 */
export async function squeueStates(ids: string[], opts: SlurmCallOptions = {}): Promise<Map<string, QueueEntry>> {
  if (!ids.length) return new Map();
  const step = 'follow Slurm jobs';
  const r = await call('squeue', ['--noheader', `--jobs=${ids.join(',')}`, '-o', SQUEUE_FORMAT], step, { ...opts, env: withoutSqueueFilters(opts.env) });
  if (r.exitCode === 0) return parseSqueue(r.stdout);
  if (GONE_JOB.test(r.stderr)) return new Map();
  throw commandFailed('squeue', r, step);
}

/**
 * How job `id` ended: `scontrol show job` while the controller still holds it (MinJobAge, 300 s by default), else
 * `sacct` where accounting runs. Undefined when neither knows the job. A job still running is returned as it is.
 */
export async function finalJob(id: string, opts?: SlurmCallOptions): Promise<JobRecord | undefined> {
  const step = 'follow Slurm jobs';
  const r = await call('scontrol', ['--oneliner', 'show', 'job', id], step, opts);
  if (r.exitCode === 0) {
    const record = parseScontrolJob(r.stdout, id);
    if (record) return record;
  } else if (!GONE_JOB.test(r.stderr)) {
    throw commandFailed('scontrol', r, step);
  }
  try {
    const acct = await call('sacct', ['-n', '-P', '-X', '-j', id, '-o', SACCT_FIELDS], step, opts);
    // Without accounting (no slurmdbd), sacct fails "accounting storage is disabled": the job is simply unknown.
    return acct.exitCode === 0 ? parseSacct(acct.stdout, id) : undefined;
  } catch (err) {
    // sacct is optional: a site without accounting may not install it, and slurmdbd is not the controller.
    if (err instanceof PharosError) return undefined;
    throw err;
  }
}

/** Cancels `ids`; jobs that have ended or that Slurm has forgotten are no error. */
export async function scancel(ids: string[], opts?: SlurmCallOptions): Promise<void> {
  if (!ids.length) return;
  const step = 'cancel Slurm jobs';
  const r = await call('scancel', ids, step, opts);
  if (r.exitCode === 0) return;
  const real = stderrLines(r.stderr).filter((l) => !GONE_JOB.test(l) && !/already completing or completed/i.test(l));
  if (real.length) throw commandFailed('scancel', { ...r, stderr: real.join('\n') }, step);
}
