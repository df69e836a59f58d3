import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import type { JobRecord, QueueEntry } from '../tools/slurm';
import type { SlurmClient } from '../lib/slurm-engine/workspace-probe';

/**
 * A stand-in Slurm cluster for unit specs (there is no Slurm on the machines they run on): its one "node" is this
 * machine. sbatch runs the submitted script at once with the real sh, SLURM_JOB_ID set, its output in the --output
 * file (`%j` resolved, as Slurm does), and the job has ended as the script did by the time sbatch returns, so squeue
 * lists nothing and scontrol has its record.
 */
export interface LocalClusterOptions {
  /** Added to the job's environment. */
  env?: NodeJS.ProcessEnv;
  /** Runs around the script: what it returns is called once the script has ended (hides a file from the "node"). */
  whileRunning?: (script: string) => () => void;
  /** The RunTime scontrol reports. */
  runTime?: string;
}

export interface SubmittedScript {
  id: string;
  script: string;
  args: string[];
  /** The --output file, as Slurm resolves its pattern. */
  log: string;
}

export class LocalCluster implements SlurmClient {
  submitted: SubmittedScript[] = [];
  cancelled: string[] = [];
  private readonly ended = new Map<string, JobRecord>();

  constructor(private readonly opts: LocalClusterOptions = {}) {}

  async sbatch(script: string, args: string[]): Promise<string> {
    const id = String(101 + this.submitted.length);
    const output = args.find((a) => a.startsWith('--output='))!.slice('--output='.length);
    const log = output.replace(/%%|%j/g, (m) => (m === '%j' ? id : '%'));
    this.submitted.push({ id, script, args, log });
    const restore = this.opts.whileRunning?.(script);
    const r = await execa('sh', [script], { reject: false, all: true, env: { ...this.opts.env, SLURM_JOB_ID: id } });
    restore?.();
    writeFileSync(log, r.all ?? '');
    const exitCode = r.exitCode ?? 1;
    const runTime = this.opts.runTime ? { runTime: this.opts.runTime } : {};
    this.ended.set(id, { id, state: exitCode ? 'FAILED' : 'COMPLETED', exitCode, signal: 0, nodes: 'c1', ...runTime, source: 'scontrol' });
    return id;
  }

  async squeueStates(): Promise<Map<string, QueueEntry>> {
    return new Map();
  }

  async finalJob(id: string): Promise<JobRecord | undefined> {
    return this.ended.get(id);
  }

  async scancel(ids: string[]): Promise<void> {
    this.cancelled.push(...ids);
  }
}
