import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beegfsChecks, beegfsShareChecks, CHECK_SCRIPT, jobCompletes, jobIdOf, slurmChecks, SUBMIT_JOB } from './cluster-checks';

describe('cluster checks', () => {
  let bin: string;
  const calls = () => readFileSync(join(bin, 'calls'), 'utf8');
  // Slurm, systemd and BeeGFS run only in the booted guests: stubs on PATH print what they would, and log their argv.
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${join(bin, 'calls')}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  const run = (...args: string[]) => execa('sh', [CHECK_SCRIPT, ...args], { env: { PATH: `${bin}:${process.env.PATH}` }, reject: false, all: true });
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'pharos-cluster-checks-'));
    stub('systemctl', 'echo inactive; exit 3');
    stub('sinfo', "printf 'hpc-compute idle\\n'");
    stub('srun', 'echo hpc-compute');
    stub('sbatch', 'echo "42;cluster"');
    stub('scontrol', "printf 'JobId=42 JobName=wrap\\n   JobState=COMPLETED Reason=None\\n'");
    stub('sudo', 'exec "$@"');
    stub('beegfs-ctl', "echo 'storage01 [ID: 1]'");
    stub('beegfs-check-servers', 'echo all reachable');
    // An automount point: autofs's trigger mount, and BeeGFS mounted over it (as findmnt lists them on hpc-compute).
    stub('findmnt', 'printf "autofs\\nbeegfs\\n"');
    stub('install', 'mkdir -p "$4"');
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('runs each check with its value as an argument, and passes the command status on (stub tools on PATH)', async () => {
    expect([(await run('unit-active', 'slurmd')).exitCode, (await run('unit-active', 'slurmd')).all]).toEqual([3, 'inactive']);
    expect((await run('node-states')).all).toBe('hpc-compute idle');
    expect((await run('srun-hostname')).all).toBe('hpc-compute');
    const submitted = (await run('submit-job')).all as string;
    expect(jobIdOf(submitted)).toBe('42');
    expect((await run('job-state', '42')).all).toBe('JobState=COMPLETED');
    expect((await run('beegfs-storage-nodes')).all).toBe('storage01 [ID: 1]');
    expect((await run('beegfs-servers')).exitCode).toBe(0);
    expect(calls()).toContain('sinfo -h -N -o %N %T\n');
    expect(calls()).toContain('sbatch --parsable -o /dev/null --wrap hostname; sleep 1\n');
    expect(calls()).toContain('scontrol show job 42\n');
    expect(calls()).toContain('sudo beegfs-ctl --listnodes --nodetype=storage\n');
    const unknown = await run('reboot');
    expect([unknown.exitCode, unknown.all]).toEqual([64, "cluster-checks.sh: unknown check 'reboot'"]);
  });

  it('runs the BeeGFS share checks with their values quoted for the guest (stub tools on PATH; grep, cat and xargs real)', async () => {
    const chunks = mkdtempSync(join(tmpdir(), 'pharos-chunks-'));
    try {
      writeFileSync(join(chunks, 'other'), 'not it');
      mkdirSync(join(chunks, 'u0', '1A'), { recursive: true });
      writeFileSync(join(chunks, 'u0', '1A', '6-5F0-1'), 'c0ffee');
      expect((await run('beegfs-chunk-content', chunks, 'c0ffee')).all).toBe('c0ffee');
      expect((await run('beegfs-chunk-content', chunks, 'c0ff')).all).toBe('');
      expect((await run('beegfs-mounted', chunks)).all).toBe('beegfs');
      await run('beegfs-write-job', 'hpc-compute', '/mnt/beegfs/pharos-verify/c0ffee.txt', 'c0ffee');
      await run('beegfs-entry', '/pharos-verify/c0ffee.txt');
      expect(calls()).toContain("sbatch --parsable -w hpc-compute -o /dev/null --wrap printf %s 'c0ffee' >'/mnt/beegfs/pharos-verify/c0ffee.txt'\n");
      expect(calls()).toContain('sudo beegfs-ctl --getentryinfo --unmounted /pharos-verify/c0ffee.txt\n');
    } finally {
      rmSync(chunks, { recursive: true, force: true });
    }
  });

  it('installs a sent SIF only when its digest matches, and runs a container check as a Slurm job (stub sudo, srun)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-sif-'));
    try {
      writeFileSync(join(dir, '.a.sif.part'), 'sif bytes');
      const sha = createHash('sha256').update('sif bytes').digest('hex');
      const wrong = await run('install-sif', join(dir, '.a.sif.part'), join(dir, 'containers/a.sif'), '0'.repeat(64));
      expect([wrong.exitCode === 0, existsSync(join(dir, 'containers/a.sif'))]).toEqual([false, false]);
      const ok = await run('install-sif', join(dir, '.a.sif.part'), join(dir, 'containers/a.sif'), sha);
      expect([ok.exitCode, ok.all, readFileSync(join(dir, 'containers/a.sif'), 'utf8')]).toEqual([
        0,
        `installed ${join(dir, 'containers/a.sif')}`,
        'sif bytes',
      ]);
      await run('srun-sif', 'hpc-compute', '/mnt/beegfs/containers/a.sif', 'mpirun -n 2 mpi-hello');
      expect(calls()).toContain('srun -w hpc-compute -N1 -n1 apptainer exec /mnt/beegfs/containers/a.sif /bin/sh -c mpirun -n 2 mpi-hello\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('judges what the guests print as a site would', () => {
    const [ctld, slurmd, sinfo, srun] = slurmChecks('hpc-compute');
    expect([ctld.vm, slurmd.vm, ctld.passes('active'), ctld.passes('inactive')]).toEqual([0, 1, true, false]);
    expect([sinfo.passes('hpc-compute idle\nother down'), sinfo.passes('hpc-compute down')]).toEqual([true, false]);
    expect([srun.passes('hpc-compute\n'), srun.attempts]).toEqual([true, 1]);
    expect([SUBMIT_JOB.passes('42;c'), SUBMIT_JOB.passes('sbatch: error')]).toEqual([true, false]);
    expect(jobCompletes('42')).toMatchObject({ what: 'batch job 42 completes', args: ['job-state', '42'] });
    const [storage, servers] = beegfsChecks('hpc-compute');
    expect([storage.passes('x [ID: 3]'), servers.passes('meta01 UNREACHABLE'), servers.vm]).toEqual([true, false, 1]);
    const share = beegfsShareChecks('hpc-compute', 'c0ffee');
    const [mounted, dir] = share.mounted;
    expect([mounted.vm, mounted.passes('beegfs'), mounted.passes('ext4'), mounted.passes('')]).toEqual([1, true, false, false]);
    expect([dir.passes('1777 directory'), dir.passes('755 directory')]).toEqual([true, false]);
    expect(share.write).toMatchObject({ vm: 0, args: ['beegfs-write-job', 'hpc-compute', '/mnt/beegfs/pharos-verify/c0ffee.txt', 'c0ffee'] });
    const [entry, content] = share.after;
    // As beegfs-ctl 7.4.7 prints it (ctl/source/modes/ModeGetEntryInfo.cpp).
    const info =
      'Entry type: file\nEntryID: 0-1-2\nMetadata node: hpc-controller [ID: 2]\nStripe pattern details:\n+ Type: RAID0\n+ Storage targets:\n  + 301 @ hpc-controller [ID: 3]';
    expect([entry.args, entry.passes(info), entry.passes(info.replace('301 @', '302 @')), entry.passes('Entry type: directory\n  + 301 @ x')]).toEqual([
      ['beegfs-entry', '/pharos-verify/c0ffee.txt'],
      true,
      false,
      false,
    ]);
    expect([content.passes('c0ffee'), content.passes(''), content.passes('c0ffee2')]).toEqual([true, false, false]);
  });
});
