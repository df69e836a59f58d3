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

/** Where the compute node mounts BeeGFS, and the folder the write check's job writes into. */
export const BEEGFS_MOUNT = '/mnt/beegfs';
export const SHARED_DIR = 'pharos-verify';
/** The controller's storage target (beegfs-server.sh: beegfs-setup-storage -p /srv/beegfs/storage -i 301). */
const STORAGE_CHUNKS = '/srv/beegfs/storage/chunks';
const STORAGE_TARGET = 301;

/**
 * BeeGFS used as a site uses it: mounted on the compute node, a batch job there writing a file, and the controller
 * finding that file in BeeGFS's metadata and its exact content on its own storage target. `token` is the run's own
 * content (hex), so an old file cannot pass for it. The job's id comes from the write check's output.
 */
export function beegfsShareChecks(compute: string, token: string): { mounted: ClusterCheck[]; write: ClusterCheck; after: ClusterCheck[] } {
  const file = `${SHARED_DIR}/${token}.txt`;
  return {
    mounted: [
      {
        what: `BeeGFS is mounted on ${compute} at ${BEEGFS_MOUNT}`,
        vm: 1,
        args: ['beegfs-mounted', BEEGFS_MOUNT],
        passes: (o) => o.trim() === 'beegfs',
        attempts: 45,
      },
      {
        what: `${BEEGFS_MOUNT}/${SHARED_DIR} is a folder every job can write to`,
        vm: 1,
        args: ['beegfs-shared-dir', `${BEEGFS_MOUNT}/${SHARED_DIR}`],
        passes: (o) => o.trim() === '1777 directory',
        attempts: 1,
      },
    ],
    write: {
      what: `sbatch accepts a job on ${compute} that writes ${BEEGFS_MOUNT}/${file}`,
      vm: 0,
      args: ['beegfs-write-job', compute, `${BEEGFS_MOUNT}/${file}`, token],
      passes: (o) => /^\d+/.test(o.trim()),
      attempts: 1,
    },
    after: [
      {
        what: `the controller finds /${file} in BeeGFS, on storage target ${STORAGE_TARGET}`,
        vm: 0,
        args: ['beegfs-entry', `/${file}`],
        passes: (o) => /Entry type: file/.test(o) && new RegExp(`\\b${STORAGE_TARGET} @ `).test(o),
        attempts: 15,
      },
      {
        what: `the controller's storage target holds the job's exact content`,
        vm: 0,
        args: ['beegfs-chunk-content', STORAGE_CHUNKS, token],
        passes: (o) => o === token,
        attempts: 15,
      },
    ],
  };
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
