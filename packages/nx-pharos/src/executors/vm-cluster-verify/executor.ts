import type { ExecutorContext } from '@nx/devkit';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { runExecutor } from '../../lib/team-store/install';
import { normalizeVmClusterOptions, type VmClusterOptions } from '../../lib/vm-image/normalize-options';
import { readVerifiedDisk, type VmImageManifest } from '../../products/vm-image';
import { detectAccelerator, type RunningVm } from '../../tools/qemu';
import { waitForSsh } from '../../tools/ssh';
import { workspaceKeypair } from '../../tools/ssh-key';
import { buildLogFile } from '../../utils/build-log';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { bootCluster } from './boot-cluster';
import { deployAndRunContainer } from './cluster-containers';
import { beegfsChecks, beegfsShareChecks, jobCompletes, jobIdOf, runClusterCheck, slurmChecks, SUBMIT_JOB, type ClusterCheck } from './cluster-checks';
import { ownedName } from '../../utils/leftovers';

export type VmClusterVerifyOptions = VmClusterOptions;

/**
 * Boots the controller and compute images under QEMU as one cluster (a private network over a loopback socket
 * between the VMs, SSH forwarded on 127.0.0.1), deployed by a cloud-init seed with a fresh auth/slurm key, then checks
 * what a site checks: slurmctld and slurmd active, the node idle in sinfo, `srun -N1 hostname` and a batch job; with
 * BeeGFS, its servers listed and reachable, and a file a batch job writes on the compute node's BeeGFS mount found by
 * the controller with its exact content; then each of `containers` deployed into BeeGFS and its container.yaml checks
 * run as Slurm jobs on the compute node through Apptainer. Both
 * VMs are stopped on success, failure and Ctrl-C; their serial logs are kept, and named on failure.
 */
export default async function vmClusterVerifyExecutor(options: VmClusterVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const { label, names, images, compute, containers, bootTimeoutMinutes } = normalizeVmClusterOptions(options, context);
    const disks: Array<{ manifest: VmImageManifest; disk: string }> = [];
    for (const image of images) disks.push(await readVerifiedDisk<VmImageManifest>(image, context.root, 'VM image'));
    const withBeegfs = disks.every((d) => !(d.manifest.without ?? []).includes('beegfs'));
    const beegfsLeftOut = disks.flatMap((d) => (d.manifest.leftOut ?? []).filter((p) => p.project === 'beegfs').map((p) => `${d.manifest.project}: ${p.why}`));
    const accelerator = await detectAccelerator(disks[0].disk, (t) => process.stdout.write(`pharos: ${t}`));
    const key = await workspaceKeypair(context.root);
    const scratch = join(context.root, 'tmp', 'vm-verify', ownedName(context.projectName ?? 'cluster'));
    const serialLogs = await Promise.all(names.map((n) => buildLogFile(context, `verify-${n}-serial`)));
    const shownLogs = serialLogs.map((l) => relative(context.root, l)).join(', ');
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const removeScratch = onInterrupt(() => rm(scratch, { recursive: true, force: true }));
    const vms: RunningVm[] = [];
    let passed = false;
    try {
      const targets = await bootCluster(
        { names, disks: disks.map((d) => d.disk), serialLogs, accelerator, key, withBeegfs, scratch, label, workspaceRoot: context.root },
        vms,
      );
      await Promise.all(
        vms.map(async (vm, i) => {
          if (!(await waitForSsh(targets[i], bootTimeoutMinutes * 60_000, () => !vm.exited()))) {
            throw new PharosError(`${names[i]} never answered SSH${vm.exited() ? ' (QEMU exited)' : ''}`, {
              step: label,
              file: relative(context.root, serialLogs[i]),
              next: 'read its serial console log (boot, cloud-init, sshd)',
            });
          }
          process.stdout.write(`pharos: ${names[i]} answers SSH, cloud-init done\n`);
        }),
      );
      const check = async (c: ClusterCheck): Promise<string> => {
        const r = await runClusterCheck(targets, c);
        if (!r.passed)
          throw new PharosError(`check failed: ${c.what}`, {
            step: label,
            tail: r.output.split('\n').slice(-15),
            next: `read the serial console logs: ${shownLogs}`,
          });
        process.stdout.write(`pharos-check: ok   ${c.what}: ${r.output.split('\n').slice(-3).join(' | ')}\n`);
        return r.output;
      };
      for (const c of slurmChecks(compute)) await check(c);
      await check(jobCompletes(jobIdOf(await check(SUBMIT_JOB))));
      if (withBeegfs) {
        for (const c of beegfsChecks(compute)) await check(c);
        const share = beegfsShareChecks(compute, randomBytes(16).toString('hex'));
        for (const c of share.mounted) await check(c);
        await check(jobCompletes(jobIdOf(await check(share.write))));
        for (const c of share.after) await check(c);
        for (const c of containers)
          await deployAndRunContainer(targets, compute, c, { label, workspaceRoot: context.root, logs: shownLogs }, (l) => process.stdout.write(l));
      } else {
        const why = beegfsLeftOut.length ? beegfsLeftOut.join('; ') : 'imagesWithout in nx.json';
        process.stdout.write(`pharos: BeeGFS NOT checked: the images were built without it (${why})\n`);
        if (containers.length)
          process.stdout.write(
            `pharos: containers NOT run on the cluster (${containers.map((c) => c.project).join(', ')}): they are deployed into BeeGFS, which the images lack\n`,
          );
      }
      passed = true;
    } finally {
      await Promise.all(vms.map((vm) => vm.stop()));
      await removeScratch();
      if (!passed && vms.length) process.stdout.write(`pharos: both VMs stopped; serial console logs kept: ${shownLogs}\n`);
    }
  });
}
