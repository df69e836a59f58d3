import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastPhase } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';
import { batchScript, JOB_END_MARKER, parseJobEnd, sbatchArgs, type SbatchRequest } from './batch-script';

const base: SbatchRequest = { resources: {}, jobName: 'pharos-samtools', logFile: '/ws/dist/samtools.log', workdir: '/ws' };

describe('sbatchArgs', () => {
  it('names the job, its one log and its folder, and asks for nothing the target did not', () => {
    expect(sbatchArgs(base)).toEqual(['--job-name=pharos-samtools', '--output=/ws/dist/samtools.log', '--chdir=/ws']);
  });

  it('puts every resource on the command line, memory in MiB and time in minutes', () => {
    const args = sbatchArgs({
      ...base,
      partition: 'short',
      resources: { nodes: 1, tasks: 2, cpusPerTask: 4, memoryMiB: 8192, timeMinutes: 90, gpus: 2, gpuType: 'a100' },
    });
    expect(args.slice(3)).toEqual(['--partition=short', '--nodes=1', '--ntasks=2', '--cpus-per-task=4', '--mem=8192M', '--time=90', '--gres=gpu:a100:2']);
    expect(sbatchArgs({ ...base, resources: { gpus: 1 } })).toContain('--gres=gpu:1');
  });

  it('chains after other jobs only when asked, and lets Slurm cancel the job when one of them fails', () => {
    expect(sbatchArgs({ ...base, afterOk: ['41', '42'] }).slice(3)).toEqual(['--dependency=afterok:41:42', '--kill-on-invalid-dep=yes']);
    expect(sbatchArgs({ ...base, afterOk: [] })).not.toContain('--kill-on-invalid-dep=yes');
  });

  it("passes a script's other flags on, except those Pharos sets itself; the target's partition wins", () => {
    const other = [
      { flag: '--job-name', value: 'mine', line: 2 },
      { flag: '--output', value: 'slurm-%j.out', line: 3 },
      { flag: '--error', value: 'slurm-%j.err', line: 4 },
      { flag: '--account', value: 'lab', line: 5 },
      { flag: '--partition', value: 'long', line: 6 },
      { flag: '--exclusive', line: 7 },
    ];
    expect(sbatchArgs({ ...base, other }).slice(3)).toEqual(['--account=lab', '--partition=long', '--exclusive']);
    expect(sbatchArgs({ ...base, partition: 'short', other }).slice(3)).toEqual(['--partition=short', '--account=lab', '--exclusive']);
  });

  it('refuses flags that would break following one job, naming the line', () => {
    let err: unknown;
    try {
      sbatchArgs({ ...base, file: 'overlays/x/build.sh', other: [{ flag: '--array', value: '1-4', line: 3 }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PharosError);
    expect((err as PharosError).format()).toMatch(
      'pharos: overlays/x/build.sh:3: #SBATCH --array 1-4 cannot be used when Pharos runs the target as a Slurm job',
    );
  });
});

describe('batchScript (run with the real sh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-batch-'));
  const run = async (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return execa('sh', [file], { reject: false, all: true, cwd: dir });
  };

  it('exports the environment as given, quotes and all, and runs each step after its phase line', async () => {
    const text = batchScript({
      env: { GREETING: `it's $HOME and "quotes" \\n` },
      steps: [
        { what: 'say it', argv: ['sh', '-c', 'printf "%s\\n" "$GREETING"'] },
        { what: `quote 'this'`, argv: ['printf', '%s\\n', 'a b', '$PATH'] },
      ],
    });
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).not.toMatch('#SBATCH');
    const r = await run('ok.sh', text);
    expect(r.exitCode).toBe(0);
    expect(r.all?.split('\n')).toEqual([
      'pharos-phase: say it',
      `it's $HOME and "quotes" \\n`,
      `pharos-phase: quote 'this'`,
      'a b',
      '$PATH',
      expect.stringMatching(new RegExp(`^${JOB_END_MARKER} 0 \\d{19} \\d{19}$`)),
    ]);
    const end = parseJobEnd(r.all!.split('\n').at(-1)!);
    expect(end?.status).toBe(0);
    // The script's own run time, from its start and end stamps: a few milliseconds for printf and sh here.
    expect(end?.ranMs).toBeGreaterThanOrEqual(0);
    expect(end?.ranMs).toBeLessThan(5000);
  });

  it("ends the job at the first failing step, with that step's exit code", async () => {
    const r = await run(
      'fail.sh',
      batchScript({
        steps: [
          { what: 'first', argv: ['true'] },
          { what: 'build', argv: ['sh', '-c', 'echo compiling; exit 3'] },
          { what: 'never', argv: ['echo', 'must not run'] },
        ],
      }),
    );
    expect(r.exitCode).toBe(3);
    expect(r.all).not.toMatch('must not run');
    expect(r.all).toMatch('pharos: step build failed with exit code 3');
    expect(r.all).toMatch(`${JOB_END_MARKER} 3`);
    expect(lastPhase(r.all ?? '')).toBe('build');
  });

  it('reads the end line: status, and the run time to the microsecond; no time where date has no %N', () => {
    expect(parseJobEnd(`${JOB_END_MARKER} 3 1000000000 3512345678`)).toEqual({ status: 3, ranMs: 2512.345 });
    expect(parseJobEnd(`${JOB_END_MARKER} 0 1732000000N 1732000002N`)).toEqual({ status: 0 });
    expect(parseJobEnd(`${JOB_END_MARKER} 0`)).toEqual({ status: 0 });
    expect(parseJobEnd('built')).toBeUndefined();
  });

  it('refuses a variable name the shell cannot take and a step without a command', () => {
    expect(() => batchScript({ steps: [], env: { 'A-B': '1' } })).toThrow('"A-B" is not a name');
    expect(() => batchScript({ steps: [{ what: 'x', argv: [] }] })).toThrow('has no command');
  });
});
