import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { freePort, makeSeedIso, startVm, waitListening, type Accelerator, type RunningVm } from '../../tools/qemu';
import type { SshTarget } from '../../tools/ssh';
import { PharosError } from '../../utils/errors';
import { clusterMetaData, clusterUserData, type ClusterNode } from './cluster-seed';

const NETWORK = '10.42.0';

export interface ClusterBoot {
  /** The controller first. */
  names: string[];
  disks: string[];
  serialLogs: string[];
  accelerator: Accelerator;
  key: { privateKey: string; publicKey: string };
  withBeegfs: boolean;
  /** A 0700 folder for the seeds (they carry the cluster's secrets). */
  scratch: string;
  label: string;
  workspaceRoot: string;
}

/**
 * Starts the cluster's VMs, the controller first: each with a seed made for it (fresh secrets, the private network,
 * the daemons to start) and SSH forwarded on loopback. Every VM started is pushed to `vms` at once, so the caller
 * stops it whatever happens next.
 */
export async function bootCluster(c: ClusterBoot, vms: RunningVm[]): Promise<SshTarget[]> {
  const nodes: ClusterNode[] = c.names.map((name, i) => ({ name, address: `${NETWORK}.${i + 1}` }));
  const slurmKey = randomBytes(1024).toString('base64');
  const beegfsAuth = c.withBeegfs ? randomBytes(48).toString('base64') : undefined;
  const clusterPort = await freePort();
  const targets: SshTarget[] = [];
  for (const [i, node] of nodes.entries()) {
    const seedDir = join(c.scratch, `seed-${node.name}`);
    await mkdir(seedDir, { recursive: true, mode: 0o700 });
    const start =
      i === 0
        ? ['slurmctld', ...(c.withBeegfs ? ['beegfs-mgmtd', 'beegfs-meta', 'beegfs-storage'] : [])]
        : ['slurmd', ...(c.withBeegfs ? ['beegfs-helperd', 'mnt-beegfs.automount'] : [])];
    const req = {
      node,
      nodes,
      sshPublicKey: c.key.publicKey,
      slurmKeyBase64: slurmKey,
      beegfsAuthBase64: beegfsAuth,
      start,
      instanceId: `pharos-verify-${randomUUID()}`,
    };
    // The secrets go into the seed ISO only (a 0600 file in the scratch folder), never into argv or logs.
    await writeFile(join(seedDir, 'user-data'), clusterUserData(req), { mode: 0o600 });
    await writeFile(join(seedDir, 'meta-data'), clusterMetaData(req));
    const iso = join(c.scratch, `${node.name}-seed.iso`);
    await makeSeedIso(seedDir, iso);
    const sshPort = await freePort();
    targets.push({ port: sshPort, user: 'admin', privateKey: c.key.privateKey });
    vms.push(
      await startVm({
        name: node.name,
        disk: c.disks[i],
        seedIso: iso,
        accelerator: c.accelerator,
        memoryMiB: 1024,
        cpus: 1,
        sshPort,
        serialLog: c.serialLogs[i],
        cluster: { mode: i === 0 ? 'listen' : 'connect', port: clusterPort, mac: `52:54:00:42:00:${String(i + 1).padStart(2, '0')}` },
      }),
    );
    process.stdout.write(
      `pharos: started ${node.name} (${c.accelerator}, ${node.address} on the cluster network, SSH on 127.0.0.1:${sshPort}); serial console: ${relative(c.workspaceRoot, c.serialLogs[i])}\n`,
    );
    // The nodes connect to the controller's socket, so it must be listening first.
    if (i === 0 && !(await waitListening(clusterPort, 30_000))) {
      throw new PharosError(`${node.name}'s QEMU never listened on the cluster socket 127.0.0.1:${clusterPort}`, {
        step: c.label,
        file: relative(c.workspaceRoot, c.serialLogs[0]),
      });
    }
  }
  return targets;
}
