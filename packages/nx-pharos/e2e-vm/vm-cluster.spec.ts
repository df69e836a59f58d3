import { execa, execaSync } from 'execa';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, filesIn, interruptNx, nx, removeDir, startNx } from '../e2e/harness';

/**
 * The VM images end to end with real Packer and QEMU (TCG here): cloud-base from the Debian archive, hpc-controller
 * and hpc-compute with the workspace's Slurm .debs, booted together as a cluster. Minutes per image, so this is
 * `npm run test:vm`, not `npm test`. Where no BeeGFS source is pinned (no site pin, as on a fresh machine), nothing is
 * edited: BeeGFS is optional, so its fetch records it as absent and the images are built without it, loudly, and
 * record why; with a pin (the shared mirror) they are built with it.
 */
const ranTasks = (tasks: Map<string, string>) =>
  [...tasks]
    .filter(([, s]) => s === 'ran')
    .map(([t]) => t)
    .sort();
const qemuProcesses = async () => (await execa('pgrep', ['-c', 'qemu-system'], { reject: false })).stdout.trim();

describe('VM images (Packer + QEMU)', () => {
  let ws: string;
  let beegfsAbsent = false;
  const script = () => join(ws, 'packer/hpc/scripts/slurm-compute.sh');
  beforeAll(async () => {
    ws = copyWorkspace();
    const beegfs = await nx(['run', 'beegfs:fetch'], ws);
    expect(beegfs.exitCode, beegfs.output.slice(-3000)).toBe(0);
    const source = JSON.parse(readFileSync(join(ws, 'dist/third-party/beegfs/7.4.7/source.json'), 'utf8'));
    beegfsAbsent = source.available === false;
    if (beegfsAbsent) {
      expect(beegfs.output).toContain('pharos: WITHOUT beegfs 7.4.7: no source of beegfs 7.4.7 has a pinned sha256');
      process.stdout.write('vm tests: no BeeGFS source is pinned here, so the images are built without it (its fetch says so)\n');
    }
    // To run one failure case alone (vitest -t) without building the whole chain first: the dist/ of an earlier run,
    // hard-linked in. The failure cases build with --exclude-task-dependencies, so they only read its products.
    const seed = process.env.PHAROS_E2E_SEED_DIST;
    if (seed) execaSync('cp', ['-al', seed, join(ws, 'dist')]);
  });
  afterAll(() => removeDir(ws));

  it('boots hpc-controller and hpc-compute as a Slurm cluster, building what it needs through the graph', async () => {
    const run = await nx(['run', 'hpc-compute:verify'], ws);
    expect(run.exitCode, run.output.slice(-5000)).toBe(0);
    for (const line of [
      'slurmctld is active on the controller',
      'slurmd is active on hpc-compute',
      'sinfo shows hpc-compute idle',
      'srun -N1 hostname runs on hpc-compute',
    ]) {
      expect(run.output).toContain(`pharos-check: ok   ${line}`);
    }
    expect(run.output).toMatch(/pharos-check: ok {3}batch job \d+ completes/);
    if (!beegfsAbsent) {
      for (const line of [
        'beegfs-ctl lists the storage server',
        'beegfs-check-servers finds every server from hpc-compute',
        'BeeGFS is mounted on hpc-compute at /mnt/beegfs',
        "the controller's storage target holds the job's exact content",
        "openmpi's SIF deployed to /mnt/beegfs/containers/openmpi.sif",
        'openmpi: mpirun -n 2 runs both ranks (srun on hpc-compute, apptainer exec /mnt/beegfs/containers/openmpi.sif)',
      ]) {
        expect(run.output).toContain(`pharos-check: ok   ${line}`);
      }
      expect(run.output).toMatch(/pharos-check: ok {3}the controller finds \/pharos-verify\/[0-9a-f]{32}\.txt in BeeGFS, on storage target 301/);
    }
    // Measured, not asserted: how long each image of the chain took in this run (absent when it was a cache hit).
    for (const m of run.output.matchAll(/pharos: (dist\/packer\/[^ ]+) .*built in (\d+) s/g)) process.stdout.write(`vm tests: ${m[1]} built in ${m[2]} s\n`);
    if (beegfsAbsent) {
      expect(run.output).toContain('pharos: hpc-compute is built WITHOUT beegfs (no source of beegfs 7.4.7 has a pinned sha256');
      expect(run.output).toContain('pharos: BeeGFS NOT checked: the images were built without it');
      for (const image of ['hpc-controller', 'hpc-compute']) {
        const manifest = JSON.parse(readFileSync(join(ws, 'dist/packer', image, 'vm-image.json'), 'utf8'));
        expect(manifest.without).toEqual(['beegfs']);
        expect(manifest.leftOut[0]).toMatchObject({ project: 'beegfs', next: expect.stringContaining('npm run pin -- third-party/beegfs/recipe.yaml') });
      }
    }
    expect(await qemuProcesses()).toBe('0');
    for (const image of ['cloud-base', 'hpc-controller', 'hpc-compute']) {
      expect(filesIn(join(ws, 'dist/packer', image))).toEqual(
        expect.arrayContaining([`${image}.qcow2`, `${image}.qcow2.sha256`, 'packer-manifest.json', 'vm-image.json']),
      );
    }
  });

  it('is all cache hits with no change, and rebuilds only hpc-compute when its provisioning script changes', async () => {
    const again = await nx(['run-many', '-t', 'build', '--projects=tag:packer'], ws);
    expect(again.exitCode, again.output).toBe(0);
    expect(ranTasks(again.tasks)).toEqual([]);
    appendFileSync(script(), '# an edit\n');
    const edited = await nx(['run-many', '-t', 'build', '--projects=tag:packer'], ws);
    expect(edited.exitCode, edited.output.slice(-3000)).toBe(0);
    expect(ranTasks(edited.tasks)).toEqual(['hpc-compute:image']);
  });

  it('names the failing provisioning script, its exit code and the serial log, and leaves no image and no VM', async () => {
    const good = readFileSync(script(), 'utf8');
    try {
      writeFileSync(script(), good.replace('set -eu\n', 'set -eu\necho "deliberate failure" >&2\nexit 7\n'));
      const run = await nx(['run', 'hpc-compute:image'], ws);
      expect(run.exitCode).not.toBe(0);
      expect(run.output).toContain(
        'pharos: packer/hpc/scripts/slurm-compute.sh: hpc-compute:image: provisioning script packer/hpc/scripts/slurm-compute.sh exited with code 7',
      );
      expect(run.output).toContain('tmp/logs/hpc-compute-image-serial.log');
      expect(filesIn(join(ws, 'dist/packer/hpc-compute'))).toEqual([]);
      expect(await qemuProcesses()).toBe('0');
    } finally {
      writeFileSync(script(), good);
    }
  });

  it('reports an SSH timeout, and a refused key, with the serial log, leaving no image and no VM', async () => {
    const seed = join(ws, 'packer/cloud-base/seed/user-data.hbs');
    const good = readFileSync(seed, 'utf8');
    const run = async (userData: string, sshTimeoutMinutes: number) => {
      writeFileSync(seed, userData);
      const r = await nx(['run', 'hpc-compute:image', '--exclude-task-dependencies', `--sshTimeoutMinutes=${sshTimeoutMinutes}`], ws);
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toContain('tmp/logs/hpc-compute-image-serial.log');
      expect(filesIn(join(ws, 'dist/packer/hpc-compute'))).toEqual([]);
      expect(await qemuProcesses()).toBe('0');
      return r.output;
    };
    try {
      // sshd never starts: Packer waits out its SSH timeout.
      expect(await run(`${good}bootcmd:\n  - [ systemctl, mask, --now, ssh.service ]\n`, 3)).toContain('the VM never answered SSH');
      // sshd runs, but the key is not the workspace's. Packer gives up after a few refused handshakes, so a long limit
      // costs nothing, and a loaded machine under TCG can take more than 3 minutes to start sshd.
      expect(
        await run(good.replace('{{sshPublicKey}}', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBoYXJvcy10ZXN0LW5vdC1hLXJlYWwta2V5LXh4eHg= wrong'), 12),
      ).toContain('the VM refused the workspace SSH key');
    } finally {
      writeFileSync(seed, good);
    }
  });

  it('blames QEMU, not the guest, when QEMU is killed while Packer waits for SSH, and stops at once', async () => {
    const run = startNx(['run', 'hpc-compute:image', '--skip-nx-cache', '--exclude-task-dependencies'], ws);
    let output = '';
    run.all?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      for (let i = 0; i < 600 && !/Waiting for SSH to become available/.test(output); i++) await new Promise((r) => setTimeout(r, 200));
      expect(output).toMatch(/Waiting for SSH to become available/);
      // What the OOM killer does: SIGKILL to QEMU alone. Packer would wait out its SSH timeout (many minutes) for it.
      await execa('pkill', ['-KILL', 'qemu-system']);
      const r = await run;
      expect(r.exitCode).not.toBe(0);
      // Stopped by the watch, not by Packer giving up on SSH.
      expect(r.all).not.toContain('Timeout waiting for SSH');
      expect(r.all).toContain(
        'QEMU ended while Packer was at "Waiting for SSH to become available", without Packer stopping it: it was killed, ran out of memory or crashed',
      );
      expect(r.all).toContain('tmp/logs/hpc-compute-image-serial.log');
      expect(filesIn(join(ws, 'dist/packer/hpc-compute'))).toEqual([]);
      expect(await qemuProcesses()).toBe('0');
    } finally {
      if (run.exitCode === null) process.kill(-(run.pid as number), 'SIGKILL');
      await run.catch(() => undefined);
    }
  });

  it('leaves Packer and QEMU running after a kill -9 of the run, and the next run of any target removes them and their scratch', async () => {
    const run = startNx(['run', 'hpc-compute:image', '--skip-nx-cache', '--exclude-task-dependencies'], ws);
    let output = '';
    run.all?.on('data', (d: Buffer) => (output += d.toString()));
    for (let i = 0; i < 600 && !/Waiting for SSH to become available/.test(output); i++) await new Promise((r) => setTimeout(r, 200));
    expect(output).toMatch(/Waiting for SSH to become available/);
    // What a CI job timeout does: SIGKILL to the run's process group. Packer runs in a group of its own, so it survives.
    process.kill(-(run.pid as number), 'SIGKILL');
    await run.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await qemuProcesses()).toBe('1');
    const scratch = readdirSync(join(ws, 'tmp/packer'));
    expect(scratch).toHaveLength(1);

    const next = await nx(['run', 'slurm:fetch', '--skip-nx-cache'], ws);
    expect(next.exitCode, next.output.slice(-3000)).toBe(0);
    expect(next.output).toMatch(/pharos: removed process \d+ \(\/usr\/bin\/qemu-system-x86_64 [^\n]*\), left behind by a run \(pid \d+\) that has ended/);
    expect(next.output).toMatch(/pharos: removed process \d+ \(packer build [^\n]*\), left behind by a run \(pid \d+\) that has ended/);
    expect(next.output).toContain(`pharos: removed tmp/packer/${scratch[0]}, left behind by a run`);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await qemuProcesses()).toBe('0');
    expect(readdirSync(join(ws, 'tmp/packer'))).toEqual([]);
    expect(filesIn(join(ws, 'dist/packer/hpc-compute'))).toEqual([]);
  });

  it('stops Packer and its VM on Ctrl-C, leaving no image', async () => {
    const interrupted = await interruptNx(
      ['run', 'hpc-compute:image', '--skip-nx-cache', '--exclude-task-dependencies'],
      ws,
      /Waiting for SSH to become available/,
      {},
      5000,
    );
    expect(interrupted.exitCode).not.toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await qemuProcesses()).toBe('0');
    expect(filesIn(join(ws, 'dist/packer/hpc-compute'))).toEqual([]);
  });
});
