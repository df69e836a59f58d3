import type { ResourceSpec, SchedulerOption } from '../../definitions/scheduler-resources';
import { PHASE_MARKER } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';
import { shellQuote } from '../../utils/shell';

/**
 * What a target submits: the sbatch arguments (every resource, on the command line) and a batch script that runs the
 * same commands the target runs locally. Resources never go into the script as #SBATCH lines, so there is one place
 * that says what a job asked for. Pure: data in, text out.
 */

export interface SbatchRequest {
  resources: ResourceSpec;
  /** The target's partition; without it, a --partition among `other`, else the cluster's default. */
  partition?: string;
  jobName: string;
  /** The job's one output file: stderr joins stdout there, as sbatch does without --error. */
  logFile: string;
  workdir: string;
  /** Flags kept apart from the resources (an overlay script's #SBATCH --account, --qos…). */
  other?: SchedulerOption[];
  /** Jobs that must complete successfully first; a failed one cancels this job (--kill-on-invalid-dep). */
  afterOk?: string[];
  /** The script `other` was read from, for errors. */
  file?: string;
}

/** Flags Pharos sets itself: a script's own (condatainer scripts often name the job and its log) give way to them. */
const SET_BY_PHAROS = new Set(['--job-name', '--output', '--error', '--chdir', '--dependency', '--parsable']);

/** Flags that would break following one job to its end. */
const REFUSED: Record<string, string> = {
  '--array': 'one target is one job, and an array is many',
  '--hold': 'a held job never starts, so the target would wait forever',
  '--clusters': 'the job would belong to another cluster, which squeue and scontrol here do not ask',
};

function otherArgs(other: SchedulerOption[], partition: string | undefined, file: string | undefined): string[] {
  const args: string[] = [];
  for (const o of other) {
    if (REFUSED[o.flag]) {
      throw new PharosError(
        `#SBATCH ${o.flag}${o.value === undefined ? '' : ` ${o.value}`} cannot be used when Pharos runs the target as a Slurm job: ${REFUSED[o.flag]}`,
        {
          ...(file ? { file } : {}),
          line: o.line,
          next: `remove the line, or set PHAROS_ENGINE=local to build on this machine`,
        },
      );
    }
    if (SET_BY_PHAROS.has(o.flag) || (o.flag === '--partition' && partition !== undefined)) continue;
    args.push(o.value === undefined ? o.flag : `${o.flag}=${o.value}`);
  }
  return args;
}

/** `--gres=gpu[:type]:n`: GPUs per node, as ResourceSpec counts them. */
function gres(spec: ResourceSpec): string[] {
  if (!spec.gpus) return [];
  return [`--gres=gpu:${spec.gpuType ? `${spec.gpuType}:` : ''}${spec.gpus}`];
}

export function sbatchArgs(req: SbatchRequest): string[] {
  const r = req.resources;
  const partition = req.partition === undefined ? [] : [`--partition=${req.partition}`];
  const numbers: Array<[string, number | undefined, string]> = [
    ['--nodes', r.nodes, ''],
    ['--ntasks', r.tasks, ''],
    ['--cpus-per-task', r.cpusPerTask, ''],
    ['--mem', r.memoryMiB, 'M'],
    ['--time', r.timeMinutes, ''],
  ];
  const deps = req.afterOk?.length ? [`--dependency=afterok:${req.afterOk.join(':')}`, '--kill-on-invalid-dep=yes'] : [];
  return [
    `--job-name=${req.jobName}`,
    `--output=${req.logFile}`,
    `--chdir=${req.workdir}`,
    ...partition,
    ...numbers.filter(([, v]) => v !== undefined).map(([flag, v, unit]) => `${flag}=${v}${unit}`),
    ...gres(r),
    ...deps,
    ...otherArgs(req.other ?? [], req.partition, req.file),
  ];
}

/**
 * The line a batch script prints when it ends: its exit status, and when the script started and ended (epoch
 * nanoseconds, `date +%s%N`). The follower polls Slurm at once on seeing it, and the two times give the job's own run
 * time to the millisecond, where scontrol's RunTime counts whole seconds.
 */
export const JOB_END_MARKER = 'pharos-job-end:';

/** What the end line says; the times are absent where the node's `date` has no %N. */
export interface ScriptEnd {
  status: number;
  ranMs?: number;
}

export function parseJobEnd(line: string): ScriptEnd | undefined {
  if (!line.startsWith(JOB_END_MARKER)) return undefined;
  const [status, start, end] = line.slice(JOB_END_MARKER.length).trim().split(/\s+/);
  const ran = /^\d+$/.test(start ?? '') && /^\d+$/.test(end ?? '') ? Number((BigInt(end) - BigInt(start)) / 1000n) / 1000 : undefined;
  return { status: Number(status), ...(ran !== undefined && ran >= 0 ? { ranMs: ran } : {}) };
}

export interface BatchStep {
  /** What the step does, as the log's phase line names it. */
  what: string;
  argv: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A POSIX sh script that exports `env` and runs each step in order, announcing it with a phase line (utils/build-log.ts,
 * so lastPhase() names where a failed job stopped). The first step that fails ends the job with that step's exit
 * code. printf, not echo: dash's echo expands backslashes in the text.
 */
export function batchScript(spec: { steps: BatchStep[]; env?: Record<string, string> }): string {
  const lines = ['#!/bin/sh', '# Written by Pharos; the job is submitted with its resources on the sbatch command line.', 'set -eu'];
  // The end shows in the log before Slurm has recorded it: the follower polls at once instead of at its backed-off pace.
  lines.push('pharos_started=$(date +%s%N)');
  lines.push(`trap 'pharos_status=$?; printf "${JOB_END_MARKER} %s %s %s\\n" "$pharos_status" "$pharos_started" "$(date +%s%N)"' EXIT`);
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new Error(`"${name}" is not a name a shell variable can have`);
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  for (const step of spec.steps) {
    if (!step.argv.length) throw new Error(`the step "${step.what}" has no command`);
    lines.push(`printf '%s\\n' ${shellQuote(`${PHASE_MARKER} ${step.what}`)}`);
    const failed = `printf 'pharos: step %s failed with exit code %s\\n' ${shellQuote(step.what)} "$status" >&2`;
    lines.push(`${step.argv.map(shellQuote).join(' ')} || { status=$?; ${failed}; exit "$status"; }`);
  }
  return `${lines.join('\n')}\n`;
}
