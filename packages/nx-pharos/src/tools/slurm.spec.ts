import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stubDir } from '../testing/sh-stubs';
import { PharosError } from '../utils/errors';
import {
  FAILURE_STATES,
  finalJob,
  isTerminal,
  parseSacct,
  parseSbatchParsable,
  parseScontrolJob,
  parseSqueue,
  sbatch,
  scancel,
  squeueStates,
  succeeded,
  type JobRecord,
} from './slurm';

/**
 * The outputs below are written after Slurm's man pages and sources (scontrol -o: one line of Key=Value pairs; sacct -P:
 * `|`-separated; squeue with our format). The command wrappers run against small sh stand-ins on PATH: this host has
 * no Slurm. The real commands, against a real controller, are exercised by the cluster tests.
 */

const COMPLETED_LINE =
  'JobId=42 JobName=pharos-overlay-samtools UserId=alice(1000) GroupId=alice(1000) MCS_label=N/A Priority=1 Nice=0 Account=(null) ' +
  'QOS=normal JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 ' +
  'RunTime=00:00:07 TimeLimit=00:10:00 TimeMin=N/A SubmitTime=2025-05-26T07:38:58 EligibleTime=2025-05-26T07:38:58 ' +
  'AccrueTime=2025-05-26T07:38:58 StartTime=2025-05-26T07:38:58 EndTime=2025-05-26T07:39:05 Deadline=N/A SuspendTime=None ' +
  'SecsPreSuspend=0 LastSchedEval=2025-05-26T07:38:58 Scheduler=Main Partition=debug AllocNode:Sid=login1:98931 ' +
  'ReqNodeList=(null) ExcNodeList=(null) NodeList=c1 BatchHost=c1 NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2 ' +
  'ReqB:S:C:T=0:0:*:* ReqTRES=cpu=2,mem=4000M,node=1,billing=2 AllocTRES=cpu=2,mem=4000M,node=1,billing=2 Socks/Node=* ' +
  'NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=2 MinMemoryNode=4000M MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 ' +
  'OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/work/ws/tmp/slurm/samtools.sh WorkDir=/work/ws ' +
  'Comment=built by pharos StdErr=/work/ws/dist/overlays/samtools.log StdIn=/dev/null StdOut=/work/ws/dist/overlays/samtools.log Power=';

const ENV = (stubs: string) => ({ PATH: `${join(stubs, 'bin')}:/usr/bin:/bin` });
const calls = (stubs: string) => readFileSync(join(stubs, 'calls.log'), 'utf8').split('\n').filter(Boolean);
const failure = (p: Promise<unknown>) =>
  p.then(
    (v) => `resolved ${JSON.stringify(v)}`,
    (e: unknown) => (e instanceof PharosError ? e.format() : `not a PharosError: ${String(e)}`),
  );

describe('parsers', () => {
  it('reads the job id of sbatch --parsable, with or without a cluster, after lines a submit filter printed', () => {
    expect(parseSbatchParsable('42\n')).toEqual({ id: '42' });
    expect(parseSbatchParsable('43;cluster2\n')).toEqual({ id: '43', cluster: 'cluster2' });
    expect(parseSbatchParsable('note: your job goes to partition short\n44\n')).toEqual({ id: '44' });
    expect(parseSbatchParsable('Submitted batch job 45\n')).toBeUndefined();
    expect(parseSbatchParsable('')).toBeUndefined();
  });

  it('reads squeue lines: a pending job has no nodes yet', () => {
    const out = '42|RUNNING|c1|None\n43|PENDING||Dependency\n44|COMPLETING|c[1-2]|None\n';
    expect(parseSqueue(out)).toEqual(
      new Map([
        ['42', { state: 'RUNNING', nodes: 'c1', reason: 'None' }],
        ['43', { state: 'PENDING', nodes: '', reason: 'Dependency' }],
        ['44', { state: 'COMPLETING', nodes: 'c[1-2]', reason: 'None' }],
      ]),
    );
    expect(parseSqueue('')).toEqual(new Map());
  });

  it('reads scontrol show job -o: keys with : and /, values with = and spaces, the empty last value', () => {
    expect(parseScontrolJob(`${COMPLETED_LINE}\n`, '42')).toEqual({
      id: '42',
      state: 'COMPLETED',
      exitCode: 0,
      signal: 0,
      nodes: 'c1',
      reason: 'None',
      stdout: '/work/ws/dist/overlays/samtools.log',
      runTime: '00:00:07',
      source: 'scontrol',
    });
  });

  it('reads the exit code and signal of a job that timed out, and no node for one cancelled while pending', () => {
    const timeout = COMPLETED_LINE.replace('JobState=COMPLETED Reason=None', 'JobState=TIMEOUT Reason=TimeLimit').replace('ExitCode=0:0', 'ExitCode=0:15');
    expect(parseScontrolJob(timeout, '42')).toMatchObject({ state: 'TIMEOUT', exitCode: 0, signal: 15, reason: 'TimeLimit', nodes: 'c1' });
    const never = COMPLETED_LINE.replace('JobId=42', 'JobId=43')
      .replace('JobState=COMPLETED Reason=None', 'JobState=CANCELLED Reason=DependencyNeverSatisfied')
      .replace('NodeList=c1', 'NodeList=(null)')
      .replace('RunTime=00:00:07', 'RunTime=00:00:00');
    expect(parseScontrolJob(never, '43')).toMatchObject({ state: 'CANCELLED', nodes: '', reason: 'DependencyNeverSatisfied', runTime: '00:00:00' });
  });

  it('picks the asked job among several records (a heterogeneous job prints one line per component)', () => {
    const other = COMPLETED_LINE.replace('JobId=42', 'JobId=41').replace('JobState=COMPLETED', 'JobState=RUNNING');
    expect(parseScontrolJob(`${other}\n${COMPLETED_LINE}\n`, '42')?.state).toBe('COMPLETED');
    expect(parseScontrolJob(COMPLETED_LINE, '99')).toBeUndefined();
    expect(parseScontrolJob('', '42')).toBeUndefined();
    expect(parseScontrolJob('No jobs in the system\n', '42')).toBeUndefined();
  });

  it('reads sacct -P lines: "CANCELLED by <uid>", an unassigned node list', () => {
    expect(parseSacct('42|COMPLETED|0:0|c1\n', '42')).toEqual({ id: '42', state: 'COMPLETED', exitCode: 0, signal: 0, nodes: 'c1', source: 'sacct' });
    expect(parseSacct('43|CANCELLED by 1000|0:0|None assigned\n', '43')).toEqual({
      id: '43',
      state: 'CANCELLED',
      exitCode: 0,
      signal: 0,
      nodes: '',
      reason: 'cancelled by uid 1000',
      source: 'sacct',
    });
    expect(parseSacct('44|OUT_OF_MEMORY|0:125|c2\n', '44')).toMatchObject({ state: 'OUT_OF_MEMORY', exitCode: 0, signal: 125 });
    expect(parseSacct('45|FAILED|3:0|c1\n', '46')).toBeUndefined();
    expect(parseSacct('', '46')).toBeUndefined();
  });
});

describe('states', () => {
  const record = (state: string, exitCode = 0, signal = 0): JobRecord => ({ id: '1', state, exitCode, signal, nodes: 'c1', source: 'scontrol' });

  it('calls every failure state and COMPLETED terminal, and the rest not', () => {
    for (const s of [...FAILURE_STATES, 'COMPLETED', 'CANCELLED by 0']) expect(isTerminal(s), s).toBe(true);
    for (const s of ['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'REQUEUED', 'SUSPENDED', 'STAGE_OUT']) expect(isTerminal(s), s).toBe(false);
  });

  it('counts only COMPLETED with exit code 0 as success', () => {
    expect(succeeded(record('COMPLETED'))).toBe(true);
    expect(succeeded(record('COMPLETED', 1))).toBe(false);
    expect(succeeded(record('FAILED', 0))).toBe(false);
    expect(succeeded(record('TIMEOUT', 0, 15))).toBe(false);
  });
});

describe('client commands (sh stand-ins on PATH)', () => {
  it('submits with --parsable, the arguments, then the script, and returns the id', async () => {
    const stubs = stubDir({ sbatch: 'echo 42' });
    expect(await sbatch('/ws/tmp/job.sh', ['--job-name=x', '--time=5'], { env: ENV(stubs) })).toBe('42');
    expect(calls(stubs)).toEqual(['sbatch --parsable --job-name=x --time=5 /ws/tmp/job.sh']);
  });

  it('quotes what Slurm refused, names the script, and says where the request comes from', async () => {
    const stubs = stubDir({
      sbatch:
        'echo "sbatch: error: invalid partition specified: gpu-x" >&2\necho "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2\nexit 1',
    });
    const text = await failure(sbatch('/ws/tmp/job.sh', ['--partition=gpu-x'], { env: ENV(stubs) }));
    expect(text).toMatch('pharos: submit a Slurm job: Slurm refused the job /ws/tmp/job.sh: invalid partition specified: gpu-x');
    expect(text).toMatch('Batch job submission failed: Invalid partition name specified');
    expect(text).toMatch("the target's options, or the script's #SBATCH lines");

    const node = stubDir({ sbatch: 'echo "sbatch: error: Batch job submission failed: Requested node configuration is not available" >&2; exit 1' });
    expect(await failure(sbatch('/ws/j.sh', [], { env: ENV(node) }))).toMatch(
      'Slurm refused the job /ws/j.sh: Batch job submission failed: Requested node configuration',
    );
  });

  it('says which command is missing and what to load, or to run locally', async () => {
    const empty = stubDir({});
    for (const run of [
      () => sbatch('/ws/j.sh', [], { env: ENV(empty) }),
      () => squeueStates(['1'], { env: ENV(empty) }),
      () => finalJob('1', { env: ENV(empty) }),
    ]) {
      const text = await failure(run());
      expect(text).toMatch(/(sbatch|squeue|scontrol) is not on PATH/);
      expect(text).toMatch('module load slurm');
      expect(text).toMatch('PHAROS_ENGINE=local');
    }
  });

  it('names the command that timed out, after how long, and says to check the controller', async () => {
    const stubs = stubDir({ squeue: 'exec sleep 5' });
    const text = await failure(squeueStates(['42'], { env: ENV(stubs), timeoutMs: 300 }));
    expect(text).toMatch('pharos: follow Slurm jobs: squeue timed out after 300ms: the Slurm controller did not answer');
    expect(text).toMatch('scontrol ping');
  });

  it('calls a controller that refuses connections silent too', async () => {
    const stubs = stubDir({ scontrol: 'echo "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2; exit 1' });
    const text = await failure(finalJob('42', { env: ENV(stubs) }));
    expect(text).toMatch('scontrol could not reach the Slurm controller');
    expect(text).toMatch('Unable to contact slurm controller (connect failure)');
  });

  it('asks squeue about every id in one call, without the caller’s SQUEUE_* filters', async () => {
    const stubs = stubDir({ squeue: 'echo "42|RUNNING|c1|None"; echo "43|PENDING||${SQUEUE_STATES:-Dependency}"' });
    const states = await squeueStates(['42', '43', '44'], { env: { ...ENV(stubs), SQUEUE_STATES: 'all' } });
    expect(calls(stubs)).toEqual(['squeue --noheader --jobs=42,43,44 -o %i|%T|%N|%r']);
    expect(states.get('42')).toEqual({ state: 'RUNNING', nodes: 'c1', reason: 'None' });
    expect(states.get('43')?.reason).toBe('Dependency');
    expect(states.has('44')).toBe(false);
    expect(await squeueStates([], { env: ENV(stubs) })).toEqual(new Map());
  });

  it('takes squeue’s "Invalid job id" for a forgotten job as an empty answer', async () => {
    const stubs = stubDir({ squeue: 'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1' });
    expect(await squeueStates(['42'], { env: ENV(stubs) })).toEqual(new Map());
  });

  it('reads the end from scontrol, else from sacct, else knows nothing', async () => {
    const line = COMPLETED_LINE.replace(/'/g, '');
    const held = stubDir({ scontrol: `echo '${line}'` });
    expect(await finalJob('42', { env: ENV(held) })).toMatchObject({ state: 'COMPLETED', nodes: 'c1', source: 'scontrol' });
    expect(calls(held)).toEqual(['scontrol --oneliner show job 42']);

    const forgotten = 'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1';
    const accounted = stubDir({ scontrol: forgotten, sacct: 'echo "42|TIMEOUT|0:15|c3"' });
    expect(await finalJob('42', { env: ENV(accounted) })).toMatchObject({ state: 'TIMEOUT', signal: 15, nodes: 'c3', source: 'sacct' });
    expect(calls(accounted)).toEqual(['scontrol --oneliner show job 42', 'sacct -n -P -X -j 42 -o JobID,State,ExitCode,NodeList']);

    const noAccounting = stubDir({ scontrol: forgotten, sacct: 'echo "sacct: error: Slurm accounting storage is disabled" >&2; exit 1' });
    expect(await finalJob('42', { env: ENV(noAccounting) })).toBeUndefined();
    expect(await finalJob('42', { env: ENV(stubDir({ scontrol: forgotten })) })).toBeUndefined();
  });

  it('cancels, and takes jobs that are already gone as cancelled', async () => {
    const stubs = stubDir({ scancel: 'echo "scancel: error: Kill job error on job id 43: Invalid job id specified" >&2; exit 1' });
    await scancel(['42', '43'], { env: ENV(stubs) });
    expect(calls(stubs)).toEqual(['scancel 42 43']);
    const denied = stubDir({ scancel: 'echo "scancel: error: Kill job error on job id 42: Access/permission denied" >&2; exit 1' });
    expect(await failure(scancel(['42'], { env: ENV(denied) }))).toMatch('pharos: cancel Slurm jobs: scancel failed with exit code 1');
  });

  it('runs scancel again when a signal ended it (Nx signals the task tree on Ctrl-C), never sbatch', async () => {
    // The stand-in dies of SIGINT on its first call, as the real one did when Nx's Ctrl-C reached it.
    const once = 'if [ ! -e "$0.signalled" ]; then touch "$0.signalled"; kill -INT $$; fi';
    const stubs = stubDir({ scancel: once, sbatch: `${once}; echo 42` });
    await scancel(['42'], { env: ENV(stubs) });
    expect(calls(stubs)).toEqual(['scancel 42', 'scancel 42']);
    await failure(sbatch('/ws/tmp/job.sh', [], { env: ENV(stubs) }));
    expect(calls(stubs).filter((c) => c.startsWith('sbatch'))).toEqual(['sbatch --parsable /ws/tmp/job.sh']);
  });
});
