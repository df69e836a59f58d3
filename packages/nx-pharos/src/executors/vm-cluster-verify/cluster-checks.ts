import { join } from 'node:path';
import { sshScript, type SshTarget } from '../../tools/ssh';

/**
 * What the verify cluster must show, as a site would check it: each check runs cluster-checks.sh in one VM (0 is the
 * controller, 1 the compute node) and passes when its output does; `attempts` (2 s apart) cover daemons coming up.
 */
export interface ClusterCheck {
  what: string;
  vm: number;
  args: string[];
  passes: (output: string) => boolean;
  attempts: number;
}

export const CHECK_SCRIPT = join(__dirname, 'cluster-checks.sh');

export function slurmChecks(compute: string): ClusterCheck[] {
  return [
    { what: 'slurmctld is active on the controller', vm: 0, args: ['unit-active', 'slurmctld'], passes: (o) => o === 'active', attempts: 30 },
    { what: `slurmd is active on ${compute}`, vm: 1, args: ['unit-active', 'slurmd'], passes: (o) => o === 'active', attempts: 30 },
    {
      what: `sinfo shows ${compute} idle`,
      vm: 0,
      args: ['node-states'],
      passes: (o) => o.split('\n').some((l) => l.trim() === `${compute} idle`),
      attempts: 90,
    },
    { what: `srun -N1 hostname runs on ${compute}`, vm: 0, args: ['srun-hostname'], passes: (o) => o.trim() === compute, attempts: 1 },
  ];
}

export const SUBMIT_JOB: ClusterCheck = { what: 'sbatch accepts a job', vm: 0, args: ['submit-job'], passes: (o) => /^\d+/.test(o.trim()), attempts: 1 };

/** `sbatch --parsable` prints `<id>[;<cluster>]`. */
export function jobIdOf(submitted: string): string {
  return submitted.trim().split(';')[0];
}

export function jobCompletes(job: string): ClusterCheck {
  return { what: `batch job ${job} completes`, vm: 0, args: ['job-state', job], passes: (o) => o.trim() === 'JobState=COMPLETED', attempts: 90 };
}

export function beegfsChecks(compute: string): ClusterCheck[] {
  return [
    { what: 'beegfs-ctl lists the storage server', vm: 0, args: ['beegfs-storage-nodes'], passes: (o) => /\[ID: \d+\]/.test(o), attempts: 30 },
    {
      what: `beegfs-check-servers finds every server from ${compute}`,
      vm: 1,
      args: ['beegfs-servers'],
      passes: (o) => !o.includes('UNREACHABLE'),
      attempts: 30,
    },
  ];
}

/** Runs one check until it passes; its output then, or the last output it gave when it never did. */
export async function runClusterCheck(targets: SshTarget[], check: ClusterCheck, pauseMs = 2000): Promise<{ passed: boolean; output: string }> {
  let last = '';
  for (let a = 0; a < check.attempts; a++) {
    const r = await sshScript(targets[check.vm], CHECK_SCRIPT, check.args);
    last = r.output;
    if (r.exitCode === 0 && check.passes(r.output)) return { passed: true, output: r.output };
    await new Promise((res) => setTimeout(res, pauseMs));
  }
  return { passed: false, output: last };
}
