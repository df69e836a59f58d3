import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { succeeded, type JobRecord } from '../../tools/slurm';
import { writeAtomically } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { shellQuote } from '../../utils/shell';
import { sbatchArgs } from './batch-script';
import { followJobs, jobFailure, type FollowDeps, type SlurmQueries } from './follow';

/**
 * Before the first real job: proof that a compute node sees the workspace at the same path, which every job relies on
 * (the batch script runs the same command against the same paths as a local run). A tiny job reads a random token
 * written here and writes its log into the workspace; a node that cannot see the workspace fails either step. A
 * success is cached per workspace and partition; a failure never is, so fixing the mount is all it takes.
 */

export interface SlurmClient extends SlurmQueries {
  sbatch(scriptPath: string, args: string[]): Promise<string>;
}

export interface ProbeRequest {
  workspaceRoot: string;
  partition?: string;
  slurm: SlurmClient;
  /** JSON file of the verdicts, keyed by workspace and partition. */
  cacheFile: string;
  /** Where the probe says what it waits for; default stderr. */
  out?: NodeJS.WritableStream;
  /** The follower's pace (tests). */
  follow?: Pick<FollowDeps, 'pollMs' | 'sleep'>;
}

export interface ProbeVerdict {
  visible: true;
  node: string;
  jobId: string;
  checkedAt: string;
}

export const SHARED_PATHS_DOC = 'docs/slurm.md#shared-paths';
/** The smallest job every partition should take. */
const PROBE_RESOURCES = { tasks: 1, cpusPerTask: 1, memoryMiB: 100, timeMinutes: 1 };
const TAIL_LINES = 10;

const cacheKey = (req: ProbeRequest) => `${req.workspaceRoot}|${req.partition ?? ''}`;

function readCache(file: string): Record<string, ProbeVerdict> {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, ProbeVerdict>) : {};
  } catch {
    return {}; // none yet, or unreadable: probe again
  }
}

/** The probe job's script: the token read through the workspace path, as the node sees it. */
export function probeScript(tokenFile: string, token: string): string {
  return [
    '#!/bin/sh',
    '# Pharos: does this node see the workspace at the same path?',
    `if [ "$(cat ${shellQuote(tokenFile)} 2>/dev/null)" = ${shellQuote(token)} ]; then`,
    `  printf 'pharos-probe: %s is visible on %s\\n' ${shellQuote(tokenFile)} "$(hostname)"`,
    '  exit 0',
    'fi',
    `printf 'pharos-probe: %s is not visible on %s\\n' ${shellQuote(tokenFile)} "$(hostname)"`,
    'exit 1',
    '',
  ].join('\n');
}

function notVisible(req: ProbeRequest, record: JobRecord, logFile: string, log: string): PharosError {
  const tail = log.trim() ? log.trim().split('\n').slice(-TAIL_LINES) : undefined;
  const step = 'check the workspace from a compute node';
  if (!record.nodes) {
    const err = jobFailure(record, logFile, tail);
    return new PharosError(`the probe job never ran: ${err.message}`, { ...err.details, step });
  }
  return new PharosError(
    `the compute node ${record.nodes} cannot see ${req.workspaceRoot} (probe job ${record.id} ended ${record.state}, exit ${record.exitCode}:${record.signal})`,
    {
      step,
      ...(tail ? { tail } : {}),
      next: `mount the workspace at the same path on every node (${SHARED_PATHS_DOC}), or set PHAROS_ENGINE=local to run targets on this machine`,
    },
  );
}

/** Proves (or recalls) that the nodes of `partition` see the workspace; throws the error that says what to mount. */
export async function probeWorkspace(req: ProbeRequest): Promise<ProbeVerdict & { cached: boolean }> {
  const known = readCache(req.cacheFile)[cacheKey(req)];
  if (known?.visible) return { ...known, cached: true };

  const out = req.out ?? process.stderr;
  const dir = join(req.workspaceRoot, 'tmp', 'slurm-probe');
  const token = randomBytes(16).toString('hex');
  const [tokenFile, script, logFile] = ['token', 'sh', 'log'].map((ext) => join(dir, `${token}.${ext}`));
  const removeFiles = onInterrupt(async () => {
    await Promise.all([tokenFile, script, logFile].map((f) => rm(f, { force: true })));
    await rmdir(dir).catch(() => undefined); // others' probes may still use it
  });
  let record: JobRecord;
  let log: string;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tokenFile, token);
    await writeFile(script, probeScript(tokenFile, token));
    const args = sbatchArgs({ resources: PROBE_RESOURCES, partition: req.partition, jobName: 'pharos-workspace-probe', logFile, workdir: req.workspaceRoot });
    const id = await req.slurm.sbatch(script, args);
    out.write(`pharos: checking that Slurm's compute nodes see ${req.workspaceRoot} (probe job ${id})\n`);
    record = (await followJobs([id], { slurm: req.slurm, out, ...req.follow })).get(id)!;
    log = await readFile(logFile, 'utf8').catch(() => '');
  } finally {
    await removeFiles();
  }
  if (!succeeded(record)) throw notVisible(req, record, logFile, log);
  const verdict: ProbeVerdict = { visible: true, node: record.nodes, jobId: record.id, checkedAt: new Date().toISOString() };
  // Read again just before writing: a probe of another partition may have finished meanwhile.
  const cache = { ...readCache(req.cacheFile), [cacheKey(req)]: verdict };
  await writeAtomically(req.cacheFile, (tmp) => writeFile(tmp, `${JSON.stringify(cache, null, 2)}\n`));
  return { ...verdict, cached: false };
}
