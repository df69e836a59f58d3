import { execa } from 'execa';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as slurmTools from '../../tools/slurm';
import type { JobRecord, QueueEntry } from '../../tools/slurm';
import { JOB_END_MARKER } from './batch-script';
import { followJob, followJobs, jobFailure, type FollowDeps, type SlurmQueries } from './follow';

/** The follower against a stand-in for Slurm whose queue each test moves along, one step per sleep. */

const dir = mkdtempSync(join(tmpdir(), 'pharos-follow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// tools/slurm.ts is what the executors will pass: it must fit the interface.
const real: SlurmQueries = slurmTools;
void real;

const running = (nodes = 'c1'): QueueEntry => ({ state: 'RUNNING', nodes, reason: 'None' });
const ended = (id: string, state = 'COMPLETED', exit = '0:0', nodes = 'c1'): JobRecord => {
  const [exitCode, signal] = exit.split(':').map(Number);
  return { id, state, exitCode, signal, nodes, source: 'scontrol' };
};

class FakeSlurm implements SlurmQueries {
  queue = new Map<string, QueueEntry>();
  /** The answers finalJob gives in turn; the last one repeats. */
  finals = new Map<string, Array<JobRecord | undefined>>();
  calls: string[] = [];
  failSqueue = 0;
  cancelKeepsJobs = false;

  /** The job leaves the queue, and scontrol has its end. */
  end(record: JobRecord) {
    this.queue.delete(record.id);
    this.finals.set(record.id, [record]);
  }

  async squeueStates(ids: string[]) {
    this.calls.push(`squeue ${ids.join(',')}`);
    if (this.failSqueue-- > 0) throw new Error('squeue timed out');
    return new Map([...this.queue].filter(([id]) => ids.includes(id)));
  }
  async finalJob(id: string) {
    this.calls.push(`final ${id}`);
    const answers = this.finals.get(id) ?? [];
    return answers.length > 1 ? answers.shift() : answers[0];
  }
  async scancel(ids: string[]) {
    this.calls.push(`scancel ${ids.join(' ')}`);
    if (this.cancelKeepsJobs) return;
    for (const id of ids) this.end(ended(id, 'CANCELLED', '0:15'));
  }
}

function world(slurm: FakeSlurm, steps: Array<() => void>, extra: Partial<FollowDeps> = {}) {
  const slept: number[] = [];
  let text = '';
  const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  const deps: FollowDeps = {
    slurm,
    out,
    // One log read per wait between polls, unless a test reads more often.
    logCheckMs: Infinity,
    sleep: async (ms) => {
      slept.push(ms);
      steps.shift()?.();
    },
    ...extra,
  };
  return { deps, slept, output: () => text };
}

describe('followJobs', () => {
  it('streams the log as it grows, whole lines only, and ends with the record scontrol gives', async () => {
    const log = join(dir, 'stream.log');
    const slurm = new FakeSlurm();
    slurm.queue.set('42', { state: 'PENDING', nodes: '', reason: 'Priority' });
    const w = world(slurm, [
      () => {
        slurm.queue.set('42', running());
        writeFileSync(log, 'step one\npart');
      },
      () => {
        appendFileSync(log, 'ial line\nno newline at the end');
        slurm.end(ended('42'));
      },
    ]);
    const record = await followJob('42', log, w.deps);
    expect(record).toEqual(ended('42'));
    expect(w.output()).toBe('pharos: job 42 is pending (Priority)\nstep one\npartial line\nno newline at the end\n');
    expect(w.slept).toEqual([250, 375]);
    expect(slurm.calls).toEqual(['squeue 42', 'squeue 42', 'squeue 42', 'final 42']);
  });

  it('backs off from 0.25 s by half each cycle up to 3 s', async () => {
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    const steps: Array<() => void> = Array.from({ length: 9 }, () => () => undefined);
    steps.push(() => slurm.end(ended('42')));
    const w = world(slurm, steps);
    await followJobs(['42'], w.deps);
    expect(w.slept.map(Math.round)).toEqual([250, 375, 563, 844, 1266, 1898, 2848, 3000, 3000, 3000]);
  });

  it("polls at once when the script's end line shows in the log, and keeps that line out of the output", async () => {
    const log = join(dir, 'end.log');
    writeFileSync(log, '');
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    const w = world(slurm, [() => undefined, () => undefined, () => appendFileSync(log, `built\n${JOB_END_MARKER} 0\n`), () => slurm.end(ended('42'))]);
    await followJob('42', log, w.deps);
    // The end line shows after the third wait: the next poll comes at once, then 50 ms later.
    expect(w.slept).toEqual([250, 375, 562.5, 50]);
    // Once the script has ended, scontrol is asked first: the job is still running there, so squeue follows it.
    expect(slurm.calls).toEqual(['squeue 42', 'squeue 42', 'squeue 42', 'final 42', 'squeue 42', 'final 42']);
    expect(w.output()).toBe('built\n');
  });

  it("reads the log every 0.1 s between polls, polls as soon as the script's end line shows, and keeps the script's run time", async () => {
    const log = join(dir, 'between.log');
    writeFileSync(log, '');
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    const w = world(slurm, [() => undefined, () => appendFileSync(log, `${JOB_END_MARKER} 0 1000000000 3500000000\n`), () => slurm.end(ended('42'))], {
      logCheckMs: 100,
    });
    const record = await followJob('42', log, w.deps);
    // The first wait (250 ms) is read in 100 ms slices; the end line cuts it short after the second.
    expect(w.slept).toEqual([100, 100, 50]);
    expect(slurm.calls).toEqual(['squeue 42', 'final 42', 'squeue 42', 'final 42']);
    expect(record).toEqual({ ...ended('42'), scriptMs: 2500 });
  });

  it("takes the end from scontrol without another squeue when Slurm has it by the time the script's end line shows", async () => {
    const log = join(dir, 'quick-end.log');
    writeFileSync(log, '');
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    const w = world(slurm, [
      () => {
        appendFileSync(log, `${JOB_END_MARKER} 0 1000000000 1250000000\n`);
        slurm.end(ended('42'));
      },
    ]);
    const record = await followJob('42', log, w.deps);
    expect(slurm.calls).toEqual(['squeue 42', 'final 42']);
    expect(record).toEqual({ ...ended('42'), scriptMs: 250 });
  });

  it('says why a job waits once per change of reason, and nothing for a job waiting on its chain', async () => {
    const slurm = new FakeSlurm();
    slurm.queue.set('42', { state: 'PENDING', nodes: '', reason: 'Resources' });
    slurm.queue.set('43', { state: 'PENDING', nodes: '', reason: 'Dependency' });
    const w = world(
      slurm,
      [
        () => undefined,
        () => slurm.queue.set('42', { state: 'PENDING', nodes: '', reason: 'Priority' }),
        () => {
          slurm.queue.set('42', running());
          slurm.end(ended('43', 'CANCELLED'));
        },
        () => slurm.end(ended('42')),
      ],
      { labels: new Map([['42', 'samtools']]) },
    );
    await followJobs(['42', '43'], w.deps);
    expect(w.output()).toBe('pharos: samtools: job 42 is pending (Resources)\npharos: samtools: job 42 is pending (Priority)\n');
  });

  it('fails at once, and cancels the job, when its pending reason can never clear', async () => {
    const slurm = new FakeSlurm();
    slurm.queue.set('42', { state: 'PENDING', nodes: '', reason: 'PartitionTimeLimit' });
    const w = world(slurm, []);
    const err = await followJob('42', join(dir, 'never.log'), w.deps).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      "Slurm job 42 can never start as submitted: pending with reason PartitionTimeLimit (its time limit is over the partition's); it is cancelled",
    );
    expect(slurm.calls).toEqual(['squeue 42', 'scancel 42', 'squeue 42']);
  });

  it('among several jobs, cancels only the one that can never start, and follows the others to their end', async () => {
    const slurm = new FakeSlurm();
    slurm.queue.set('42', { state: 'PENDING', nodes: '', reason: 'PartitionTimeLimit' });
    slurm.queue.set('43', running());
    const w = world(slurm, [() => slurm.end(ended('43'))], { labels: new Map([['42', 'samtools']]) });
    const records = await followJobs(['42', '43'], w.deps);
    expect(records.get('42')?.state).toBe('CANCELLED');
    expect(records.get('43')?.state).toBe('COMPLETED');
    expect(slurm.calls.filter((c) => c.startsWith('scancel'))).toEqual(['scancel 42']);
    expect(w.output()).toContain('pharos: samtools: Slurm job 42 can never start as submitted: pending with reason PartitionTimeLimit');
    expect(w.output()).toContain('next: change the job');
  });

  it('asks about all unfinished jobs in one call, and labels each job’s lines', async () => {
    const logs = new Map([
      ['1', join(dir, 'one.log')],
      ['2', join(dir, 'two.log')],
    ]);
    const slurm = new FakeSlurm();
    slurm.queue.set('1', running());
    slurm.queue.set('2', { state: 'PENDING', nodes: '', reason: 'Dependency' });
    const w = world(
      slurm,
      [
        () => {
          writeFileSync(logs.get('1')!, 'first\n');
          slurm.end(ended('1'));
        },
        () => {
          slurm.queue.set('2', running('c2'));
          writeFileSync(logs.get('2')!, 'second\n');
        },
        () => {
          slurm.queue.set('2', { state: 'FAILED', nodes: 'c2', reason: 'NonZeroExitCode' });
          slurm.finals.set('2', [ended('2', 'FAILED', '3:0', 'c2')]);
        },
      ],
      {
        logFiles: logs,
        labels: new Map([
          ['1', 'samtools'],
          ['2', 'htslib'],
        ]),
      },
    );
    const records = await followJobs(['1', '2'], w.deps);
    expect(records.get('1')?.state).toBe('COMPLETED');
    expect(records.get('2')).toMatchObject({ state: 'FAILED', exitCode: 3 });
    expect(slurm.calls.filter((c) => c.startsWith('squeue'))).toEqual(['squeue 1,2', 'squeue 1,2', 'squeue 2', 'squeue 2']);
    expect(w.output()).toBe('samtools: first\nhtslib: second\n');
  });

  it('asks scontrol again while it lags behind squeue, then calls a job no one knows UNKNOWN', async () => {
    const slurm = new FakeSlurm();
    slurm.finals.set('42', [undefined, { ...ended('42'), state: 'COMPLETING' }, ended('42')]);
    const w = world(slurm, []);
    expect((await followJobs(['42'], w.deps)).get('42')?.state).toBe('COMPLETED');
    expect(w.slept).toEqual([250, 375]);

    const forgotten = new FakeSlurm();
    const f = world(forgotten, []);
    const record = (await followJobs(['43'], f.deps)).get('43')!;
    expect(record).toMatchObject({ state: 'UNKNOWN', source: 'none' });
    expect(forgotten.calls.filter((c) => c === 'final 43')).toHaveLength(5);
    expect(jobFailure(record, 'dist/x.log').format()).toMatch('Slurm no longer knows job 43, so how it ended is unknown; log: dist/x.log');
  });

  it('starts the log over when the job rewrites it (a requeue)', async () => {
    const log = join(dir, 'requeue.log');
    writeFileSync(log, 'attempt one, a long first line\n');
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    const w = world(slurm, [() => writeFileSync(log, 'again\n'), () => slurm.end(ended('42'))]);
    await followJob('42', log, w.deps);
    expect(w.output()).toBe('attempt one, a long first line\nagain\n');
  });

  it('cancels what has not ended when following fails, waits until squeue lets it go, and rethrows', async () => {
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    const w = world(slurm, [() => (slurm.failSqueue = 1)]);
    await expect(followJobs(['42'], w.deps)).rejects.toThrow('squeue timed out');
    expect(slurm.calls).toEqual(['squeue 42', 'squeue 42', 'scancel 42', 'squeue 42']);
    expect(w.output()).toBe('pharos: cancelling Slurm job 42\n');
  });

  it('leaves the jobs running when told to', async () => {
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    slurm.failSqueue = 1;
    const w = world(slurm, [], { cancelWhenStopped: false });
    await expect(followJobs(['42'], w.deps)).rejects.toThrow('squeue timed out');
    expect(slurm.calls).toEqual(['squeue 42']);
  });

  it('gives up waiting for a cancelled job after the limit, and says how to check', async () => {
    const slurm = new FakeSlurm();
    slurm.queue.set('42', running());
    slurm.cancelKeepsJobs = true;
    const w = world(slurm, [() => (slurm.failSqueue = 1)], { cancelWaitMs: 1000 });
    await expect(followJobs(['42'], w.deps)).rejects.toThrow('squeue timed out');
    expect(w.output()).toMatch('pharos: Slurm still shows job(s) 42 1s after scancel; check with `squeue -j 42`');
    expect(w.slept.slice(1)).toEqual([250, 375, 562.5]);
  });
});

describe('jobFailure', () => {
  it('names the state, the job, the node, the exit code and signal, and the log', () => {
    const err = jobFailure(ended('42', 'TIMEOUT', '0:15'), 'dist/overlays/x.log', ['last line']);
    expect(err.message).toBe('Slurm job 42 ended TIMEOUT on node c1 (exit 0:15); log: dist/overlays/x.log');
    expect(err.format()).toMatch('last line');
    expect(err.format()).toMatch('#SBATCH --time');
  });

  it('says when a job never ran, and why, and counts nodes', () => {
    const never = { ...ended('43', 'CANCELLED', '0:0', ''), reason: 'DependencyNeverSatisfied' };
    expect(jobFailure(never, 'x.log').message).toBe('Slurm job 43 ended CANCELLED before it ran on any node (exit 0:0, DependencyNeverSatisfied); log: x.log');
    expect(jobFailure(ended('44', 'NODE_FAIL', '0:0', 'c[1-2]'), 'x.log').message).toMatch('on nodes c[1-2]');
    expect(jobFailure({ ...ended('45', 'FAILED', '2:0'), reason: 'NonZeroExitCode' }, 'x.log').format()).toMatch('next: read x.log');
  });
});

describe('interrupt (a real process, a real SIGINT)', () => {
  it('cancels the running job, waits until squeue no longer shows it, and exits 130', { timeout: 60_000 }, async () => {
    const program = `
      const { followJob } = require(${JSON.stringify(join(__dirname, 'follow.ts'))});
      let cancelled = false;
      const slurm = {
        async squeueStates(ids) {
          console.log('squeue ' + ids.join(','));
          if (!cancelled) process.stdout.write('ready\\n');
          return cancelled ? new Map() : new Map([['42', { state: 'RUNNING', nodes: 'c1', reason: 'None' }]]);
        },
        async finalJob(id) { return { id, state: 'CANCELLED', exitCode: 0, signal: 15, nodes: 'c1', source: 'scontrol' }; },
        async scancel(ids) { console.log('scancel ' + ids.join(' ')); await new Promise((r) => setTimeout(r, 200)); cancelled = true; },
      };
      followJob('42', '/nonexistent/x.log', { slurm, out: process.stdout, pollMs: { first: 50, max: 100, factor: 1.5 } })
        .then(() => process.exit(1));`;
    const child = execa('node', ['-r', '@swc-node/register', '-e', program], {
      reject: false,
      cwd: resolve(__dirname, '../../../../..'),
      forceKillAfterDelay: false,
    });
    await new Promise<void>((ready) => child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ready()));
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, `${r.signal} ${r.stderr}`).toBe(130);
    const lines = r.stdout.split('\n');
    const cancel = lines.indexOf('scancel 42');
    expect(cancel, r.stdout).toBeGreaterThan(0);
    expect(lines).toContain('pharos: cancelling Slurm job 42');
    // After scancel, squeue is asked again until the job is gone.
    expect(lines.slice(cancel + 1)).toContain('squeue 42');
  });
});
