import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeSettings } from '../../products/store';
import { teamStoreEnv } from '../team-store/settings';
import { unwindsBeforeExit } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { workspaceRootFrom } from '../../utils/paths';
import { JOB_EXECUTORS } from './engine';
import { slurmLogsDir, submitChain, type Sbatch, type Scancel, type SubmittedJob } from './submit';
import { chainOrder, readTaskGraph, splitChain, type ChainStep } from './task-graph';

/**
 * `pharos submit`: an Nx command's task graph as a chain of Slurm jobs (submit.ts), submitted from a login node; the
 * jobs run the graph with nobody waiting, or `--wait` follows them to their end.
 */

export const SUBMIT_USAGE = `usage: pharos submit [--wait] [--dry-run] <run-many|affected|run> [nx args…]

Runs the tasks of an Nx command as Slurm jobs, one job per task, chained so that Slurm starts each only once the
jobs of its dependencies completed, and cancels it when one of them did not. Each job runs its task with
\`nx run <task> --exclude-task-dependencies\` in this workspace, which the compute nodes must see at the same path, as
they must see dist/ and the Nx cache: what the jobs build is then a cache hit for a later nx run on any node.
Prints each job's id, task and log (dist/slurm/logs/), and exits without waiting.

  pharos submit run-many -t overlay --projects=tag:overlay
  pharos submit --wait affected -t test

options:
  --wait      follow the jobs to their end; fail naming each task whose job did not complete
  --dry-run   print the chain (each task and the tasks it runs after), and submit nothing
  -h, --help  this text

The tasks are those of the graph Nx writes with --graph=<file>.json, which holds each target's default
configuration and none of the command's option overrides: -c/--configuration, --graph and
--exclude-task-dependencies are refused.`;

const STEP = 'submit';

/** What the job of a task ended as, as tools/slurm.ts reads it from scontrol or sacct. */
export interface JobRecord {
  id: string;
  state: string;
  exitCode?: number;
  signal?: number;
  nodes?: string;
  stdout?: string;
}

/** A submitted job to follow: its log is streamed under its task's name. */
export interface FollowedJob {
  jobId: string;
  taskId: string;
  logFile: string;
}

/** Follows the jobs to their end (streaming as they run), then gives each one's record. */
export type FollowJobs = (jobs: FollowedJob[]) => Promise<Map<string, JobRecord>>;

export interface SlurmClient {
  sbatch: Sbatch;
  scancel: Scancel;
  followJobs: FollowJobs;
}

/** Runs Nx in the workspace; exit code and output (stdout and stderr together). */
export type RunNx = (nxCommand: string[], args: string[], cwd: string) => Promise<{ exitCode: number; output: string }>;

export interface SubmitCliDeps {
  /** Loaded only to submit, so --dry-run and --help work on a machine without Slurm. */
  slurm: () => Promise<SlurmClient>;
  runNx?: RunNx;
  /** Options of one task's job (its resources); none by default. */
  argsFor?: (taskId: string) => string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
}

interface SubmitArgs {
  wait: boolean;
  dryRun: boolean;
  help: boolean;
  nxArgs: string[];
}

const NX_COMMANDS = ['run-many', 'affected', 'run'];

/** Options whose effect the graph file cannot carry: the jobs would run something else than the command says. */
const REFUSED = [
  { flags: ['-c', '--configuration'], why: "Nx writes the graph with each target's default configuration whatever -c says" },
  { flags: ['--graph'], why: 'pharos submit writes the graph itself' },
  { flags: ['--exclude-task-dependencies', '--excludeTaskDependencies'], why: 'Nx writes the graph with the dependencies whatever it says' },
];

export function parseSubmitArgs(argv: readonly string[]): SubmitArgs {
  const out: SubmitArgs = { wait: false, dryRun: false, help: false, nxArgs: [] };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const arg = argv[i];
    if (arg === '--wait') out.wait = true;
    else if (arg === '--dry-run') out.dryRun = true;
    else if (arg === '-h' || arg === '--help') out.help = true;
    else
      throw new PharosError(`unknown option ${arg}`, { step: STEP, next: 'pharos submit [--wait] [--dry-run] <run-many|affected|run> [nx args…]; see --help' });
  }
  if (out.help) return out;
  out.nxArgs = argv.slice(argv[i] === 'nx' ? i + 1 : i);
  if (!NX_COMMANDS.includes(out.nxArgs[0]))
    throw new PharosError(
      out.nxArgs.length ? `pharos submit runs nx ${NX_COMMANDS.join(', nx ')}, not nx ${out.nxArgs[0]}` : 'name the Nx command whose tasks to submit',
      {
        step: STEP,
        next: 'e.g. pharos submit run-many -t overlay --projects=tag:overlay',
      },
    );
  const end = out.nxArgs.indexOf('--');
  for (const arg of end < 0 ? out.nxArgs : out.nxArgs.slice(0, end)) {
    const refused = REFUSED.find((r) => r.flags.some((f) => arg === f || arg.startsWith(`${f}=`)));
    if (refused) throw new PharosError(`${arg.split('=')[0]} is refused: ${refused.why}`, { step: STEP, next: 'leave it out; see pharos submit --help' });
  }
  return out;
}

/** The Nx of the workspace, run by path: the same on the login node and on every compute node that sees the workspace. */
function workspaceNx(workspaceRoot: string): string[] {
  const nx = join(workspaceRoot, 'node_modules', '.bin', 'nx');
  if (!existsSync(nx)) throw new PharosError(`there is no ${nx}`, { step: STEP, next: 'run npm ci in the workspace' });
  return [nx];
}

const runNxWithExeca: RunNx = async (nxCommand, args, cwd) => {
  const r = await execa(nxCommand[0], [...nxCommand.slice(1), ...args], { cwd, reject: false, all: true });
  return { exitCode: r.exitCode ?? 1, output: r.all ?? '' };
};

/** The command's tasks in chain order, from the graph Nx writes for it (into a temporary file, removed after). */
async function plannedChain(nxCommand: string[], nxArgs: string[], workspaceRoot: string, runNx: RunNx): Promise<ChainStep[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-submit-'));
  try {
    const file = join(dir, 'graph.json');
    // Before a `--`: what follows it is handed to the targets.
    const end = nxArgs.indexOf('--');
    const args = end < 0 ? [...nxArgs, `--graph=${file}`] : [...nxArgs.slice(0, end), `--graph=${file}`, ...nxArgs.slice(end)];
    const r = await runNx(nxCommand, args, workspaceRoot);
    if (r.exitCode !== 0 || !existsSync(file))
      throw new PharosError(`nx ${nxArgs.join(' ')} did not write its task graph (exit ${r.exitCode})`, {
        step: 'compute the task graph',
        tail: r.output.trim().split('\n').slice(-15),
        next: 'run the same nx command with --graph=stdout to see what it makes of the arguments',
      });
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new PharosError(`the task graph Nx wrote is not JSON: ${(err as Error).message}`, { step: 'compute the task graph' });
    }
    return chainOrder(readTaskGraph(json));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The tasks that cannot run as jobs (Docker-based images, and targets with no work), run here before any job is
 * submitted: one `nx run-many` per target, in chain order, so Nx runs them (cache hits, mostly) with their own
 * dependencies, and the jobs find their products in dist/.
 */
async function runHereFirst(
  local: ChainStep[],
  nxCommand: string[],
  workspaceRoot: string,
  runNx: RunNx,
  stderr: { write(text: string): unknown },
): Promise<void> {
  const byTarget = new Map<string, string[]>();
  for (const s of local) byTarget.set(s.task.target, [...(byTarget.get(s.task.target) ?? []), s.task.project]);
  for (const [target, projects] of byTarget) {
    stderr.write(`pharos: running here first (not as jobs): ${target} of ${projects.join(', ')}\n`);
    const r = await runNx(nxCommand, ['run-many', '-t', target, `--projects=${projects.join(',')}`], workspaceRoot);
    if (r.exitCode !== 0)
      throw new PharosError(`nx run-many -t ${target} --projects=${projects.join(',')} failed (exit ${r.exitCode}); no job was submitted`, {
        step: 'run the tasks that cannot run as jobs',
        tail: r.output.trim().split('\n').slice(-20),
        next: 'fix that failure, then submit again',
      });
  }
}

export function formatPlan(order: ChainStep[]): string {
  const width = Math.max(...order.map((s) => s.id.length));
  return order.map((s) => `${s.id.padEnd(width)}  after: ${s.after.join(' ') || '-'}\n`).join('');
}

export function formatJobs(jobs: SubmittedJob[]): string {
  return jobs.map((j) => `${j.jobId}  ${j.taskId}  log: ${j.logFile}\n`).join('');
}

/**
 * One line for each task whose job did not complete, in chain order: its state, job id, exit code or signal, node
 * and log; for a job Slurm cancelled, the dependency that did not complete (the one to look at).
 */
export function failedJobLines(order: ChainStep[], jobs: SubmittedJob[], records: ReadonlyMap<string, JobRecord>): string[] {
  const jobOf = new Map(jobs.map((j) => [j.taskId, j]));
  const completed = (taskId: string) => records.get(jobOf.get(taskId)?.jobId ?? '')?.state === 'COMPLETED';
  return order
    .filter((s) => !completed(s.id))
    .map((s) => {
      const job = jobOf.get(s.id) as SubmittedJob;
      const record = records.get(job.jobId);
      const facts = [
        `job ${job.jobId}`,
        ...(record?.exitCode !== undefined ? [`exit code ${record.exitCode}`] : []),
        ...(record?.signal ? [`signal ${record.signal}`] : []),
        ...(record?.nodes ? [`node ${record.nodes}`] : []),
      ];
      const unmet = s.after.filter((d) => !completed(d));
      const cause = record?.state.startsWith('CANCELLED') && unmet.length ? `; Slurm cancelled it: ${unmet.join(', ')} did not complete` : '';
      return `${s.id}: ${record?.state ?? 'no record of the job'} (${facts.join(', ')}) log: ${job.logFile}${cause}`;
    });
}

export async function submitCli(argv: readonly string[], deps: SubmitCliDeps): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const args = parseSubmitArgs(argv);
  if (args.help) {
    stdout.write(`${SUBMIT_USAGE}\n`);
    return 0;
  }
  const job = (deps.env ?? process.env).SLURM_JOB_ID;
  if (job)
    throw new PharosError(`this is Slurm job ${job}: pharos submit submits jobs from outside one`, {
      step: STEP,
      next: 'inside a job, run the targets with nx itself (they run on this node); submit from a login node',
    });

  const workspaceRoot = workspaceRootFrom(deps.cwd ?? process.cwd());
  const nxCommand = workspaceNx(workspaceRoot);
  const planned = await plannedChain(nxCommand, args.nxArgs, workspaceRoot, deps.runNx ?? runNxWithExeca);
  const { local, jobs: order } = splitChain(planned, JOB_EXECUTORS);
  if (!order.length) {
    stderr.write(`pharos: nx ${args.nxArgs.join(' ')} has no task that runs as a Slurm job (${[...JOB_EXECUTORS].join(', ')}): nothing to submit\n`);
    return 0;
  }
  if (args.dryRun) {
    if (local.length) stderr.write(`pharos: dry run: ${local.length} task(s) would run here first: ${local.map((s) => s.id).join(' ')}\n`);
    stderr.write(`pharos: dry run: ${order.length} job(s) would be submitted, in this order:\n`);
    stdout.write(formatPlan(order));
    return 0;
  }
  await runHereFirst(local, nxCommand, workspaceRoot, deps.runNx ?? runNxWithExeca, stderr);

  const slurm = await deps.slurm();
  const jobs = await unwindsBeforeExit(
    submitChain(order, {
      workspaceRoot,
      nxCommand,
      storeEnv: { ...storeSettings(deps.env ?? process.env), ...teamStoreEnv(deps.env ?? process.env) },
      // Logs are for the user to read after the jobs ended, beside the products; scripts are scratch (Slurm keeps its
      // own copy from submission on), so they go where nothing is kept.
      logsDir: slurmLogsDir(workspaceRoot),
      scriptsDir: join(workspaceRoot, 'tmp', 'slurm'),
      sbatch: slurm.sbatch,
      scancel: slurm.scancel,
      ...(deps.argsFor ? { argsFor: deps.argsFor } : {}),
    }),
  );
  stdout.write(formatJobs(jobs));
  if (!args.wait) return 0;

  const records = await slurm.followJobs(jobs);
  const failed = failedJobLines(order, jobs, records);
  if (!failed.length) {
    stderr.write(`pharos: all ${jobs.length} job(s) completed\n`);
    return 0;
  }
  stderr.write(`pharos: ${failed.length} of ${jobs.length} job(s) did not complete:\n${failed.map((l) => `  ${l}\n`).join('')}`);
  return 1;
}
