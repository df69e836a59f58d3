import type { ExecutorContext } from '@nx/devkit';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { detectAccelerator, freePort, makeSeedIso, startVm, waitListening, type RunningVm } from '../../tools/qemu';
import { ssh, waitForSsh, type SshTarget } from '../../tools/ssh';
import { workspaceKeypair } from '../../tools/ssh-key';
import { onInterrupt } from '../../utils/cleanup';
import { assertFileDigest } from '../../utils/digest';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel } from '../../utils/executor';
import { VM_IMAGE_MANIFEST, type VmImageManifest } from '../../products/vm-image';
import { clusterMetaData, clusterUserData, type ClusterNode } from './cluster-seed';

export interface VmClusterVerifyOptions {
  /** The image project of the controller (slurmctld), and those of the compute nodes (slurmd). */
  controller: string;
  nodes: string[];
  /** Minutes to wait for each VM's SSH and cloud-init. */
  bootTimeoutMinutes?: number;
}

const NETWORK = '10.42.0';

function imageOf(project: string, context: ExecutorContext): { manifest: VmImageManifest; disk: string; manifestFile: string } {
  const root = context.projectsConfigurations?.projects[project]?.root;
  if (!root) throw new PharosError(`${project} is not a project`, { step: taskLabel(context) });
  const manifestFile = join(context.root, 'dist', root, VM_IMAGE_MANIFEST);
  if (!existsSync(manifestFile)) throw new PharosError('no VM image', { file: relative(context.root, manifestFile), next: `build it: npx nx run ${project}:image` });
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as VmImageManifest;
  return { manifest, disk: join(manifestFile, '..', manifest.file), manifestFile };
}

/**
 * Boots the controller and compute images under QEMU as one cluster (a private network over a loopback socket
 * between the VMs, SSH forwarded on 127.0.0.1), deployed by a cloud-init seed with a fresh auth/slurm key, then checks
 * what a site checks: slurmctld and slurmd active, the node idle in sinfo, `srun -N1 hostname` and a batch job. Both
 * VMs are stopped on success, failure and Ctrl-C; their serial logs are kept, and named on failure.
 */
export default async function vmClusterVerifyExecutor(options: VmClusterVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const names = [options.controller, ...options.nodes];
    const images = names.map((n) => imageOf(n, context));
    for (const [i, img] of images.entries()) {
      await assertFileDigest(img.disk, img.manifest.sha256, { what: img.manifest.file, shown: relative(context.root, img.disk), rebuild: `npx nx run ${names[i]}:image --skip-nx-cache` });
    }
    const withBeegfs = images.every((img) => !(img.manifest.without ?? []).includes('beegfs'));
    const accelerator = await detectAccelerator(images[0].disk, (t) => process.stdout.write(`pharos: ${t}`));
    const key = await workspaceKeypair(context.root);
    const scratch = join(context.root, 'tmp', 'vm-verify', `${context.projectName}-${randomUUID().slice(0, 8)}`);
    const logs = join(context.root, 'tmp', 'logs');
    await mkdir(logs, { recursive: true });
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const removeScratch = onInterrupt(() => rm(scratch, { recursive: true, force: true }));
    const nodes: ClusterNode[] = names.map((name, i) => ({ name, address: `${NETWORK}.${i + 1}` }));
    const slurmKey = randomBytes(1024).toString('base64');
    const beegfsAuth = withBeegfs ? randomBytes(48).toString('base64') : undefined;
    const clusterPort = await freePort();
    const vms: RunningVm[] = [];
    const targets: SshTarget[] = [];
    const serialLogs = names.map((n) => join(logs, `${context.projectName}-verify-${n}-serial.log`));
    let passed = false;
    try {
      for (const [i, node] of nodes.entries()) {
        const seedDir = join(scratch, `seed-${node.name}`);
        await mkdir(seedDir, { recursive: true, mode: 0o700 });
        const start = i === 0 ? ['slurmctld', ...(withBeegfs ? ['beegfs-mgmtd', 'beegfs-meta', 'beegfs-storage'] : [])] : ['slurmd'];
        const req = { node, nodes, sshPublicKey: key.publicKey, slurmKeyBase64: slurmKey, beegfsAuthBase64: beegfsAuth, start, instanceId: `pharos-verify-${randomUUID()}` };
        // The secrets go into the seed ISO only (a 0600 file in the scratch folder), never into argv or logs.
        await writeFile(join(seedDir, 'user-data'), clusterUserData(req), { mode: 0o600 });
        await writeFile(join(seedDir, 'meta-data'), clusterMetaData(req));
        const iso = join(scratch, `${node.name}-seed.iso`);
        await makeSeedIso(seedDir, iso);
        const sshPort = await freePort();
        targets.push({ port: sshPort, user: 'admin', privateKey: key.privateKey });
        vms.push(startVm({
          name: node.name, disk: images[i].disk, seedIso: iso, accelerator, memoryMiB: 1024, cpus: 1, sshPort, serialLog: serialLogs[i],
          cluster: { mode: i === 0 ? 'listen' : 'connect', port: clusterPort, mac: `52:54:00:42:00:${String(i + 1).padStart(2, '0')}` },
        }));
        process.stdout.write(`pharos: started ${node.name} (${accelerator}, ${node.address} on the cluster network, SSH on 127.0.0.1:${sshPort}); serial console: ${relative(context.root, serialLogs[i])}\n`);
        // The nodes connect to the controller's socket, so it must be listening first.
        if (i === 0 && !(await waitListening(clusterPort, 30_000))) {
          throw new PharosError(`${node.name}'s QEMU never listened on the cluster socket 127.0.0.1:${clusterPort}`, { step: label, file: relative(context.root, serialLogs[0]) });
        }
      }
      const bootMs = (options.bootTimeoutMinutes ?? 10) * 60_000;
      await Promise.all(vms.map(async (vm, i) => {
        if (!(await waitForSsh(targets[i], bootMs, () => !vm.exited()))) {
          throw new PharosError(`${names[i]} never answered SSH${vm.exited() ? ' (QEMU exited)' : ''}`, { step: label, file: relative(context.root, serialLogs[i]), next: 'read its serial console log (boot, cloud-init, sshd)' });
        }
        process.stdout.write(`pharos: ${names[i]} answers SSH, cloud-init done\n`);
      }));
      const check = async (what: string, vm: number, command: string, expect: (out: string) => boolean, attempts = 1) => {
        let last = '';
        for (let a = 0; a < attempts; a++) {
          const r = await ssh(targets[vm], command);
          last = r.output;
          if (r.exitCode === 0 && expect(r.output)) {
            process.stdout.write(`pharos-check: ok   ${what}: ${r.output.split('\n').slice(-3).join(' | ')}\n`);
            return r.output;
          }
          await new Promise((res) => setTimeout(res, 2000));
        }
        throw new PharosError(`check failed: ${what}`, { step: label, tail: last.split('\n').slice(-15), next: `read the serial console logs: ${serialLogs.map((l) => relative(context.root, l)).join(', ')}` });
      };
      const compute = options.nodes[0];
      await check('slurmctld is active on the controller', 0, 'systemctl is-active slurmctld', (o) => o === 'active', 30);
      await check(`slurmd is active on ${compute}`, 1, 'systemctl is-active slurmd', (o) => o === 'active', 30);
      await check(`sinfo shows ${compute} idle`, 0, "sinfo -h -N -o '%N %T'", (o) => o.split('\n').some((l) => l.trim() === `${compute} idle`), 90);
      await check(`srun -N1 hostname runs on ${compute}`, 0, 'timeout 120 srun -N1 hostname', (o) => o.trim() === compute);
      const job = (await check('sbatch accepts a job', 0, "sbatch --parsable -o /dev/null --wrap 'hostname; sleep 1'", (o) => /^\d+/.test(o.trim()))).trim().split(';')[0];
      await check(`batch job ${job} completes`, 0, `scontrol show job ${job} | grep -o 'JobState=[A-Z_]*'`, (o) => o.trim() === 'JobState=COMPLETED', 90);
      if (withBeegfs) {
        await check('beegfs-ctl lists the storage server', 0, 'sudo beegfs-ctl --listnodes --nodetype=storage', (o) => /\[ID: \d+\]/.test(o), 30);
        await check(`beegfs-check-servers finds every server from ${compute}`, 1, 'sudo beegfs-check-servers -e', (o) => !o.includes('UNREACHABLE'), 30);
      } else {
        process.stdout.write('pharos: BeeGFS not checked: the images were built without it (imagesWithout in nx.json)\n');
      }
      passed = true;
    } finally {
      await Promise.all(vms.map((vm) => vm.stop()));
      await removeScratch();
      if (!passed && vms.length) process.stdout.write(`pharos: both VMs stopped; serial console logs kept: ${serialLogs.map((l) => relative(context.root, l)).join(', ')}\n`);
    }
  });
}
