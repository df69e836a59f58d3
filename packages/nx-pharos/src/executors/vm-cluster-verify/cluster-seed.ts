/**
 * The cloud-init seed that deploys one VM of a verify cluster: the admin login with the workspace key, the private
 * VM-to-VM network on eth1 with every node in /etc/hosts, the cluster's secrets (auth/slurm key, BeeGFS connAuthFile)
 * as files, and the daemons started once those exist. Pure: data in, text out.
 */
export interface ClusterNode {
  name: string;
  address: string;
}

export interface ClusterSeedRequest {
  node: ClusterNode;
  nodes: ClusterNode[];
  sshPublicKey: string;
  slurmKeyBase64: string;
  /** Present when the images carry BeeGFS. */
  beegfsAuthBase64?: string;
  /** Units started after the secrets are in place, e.g. slurmctld. */
  start: string[];
  instanceId: string;
}

const PREFIX = 24;

export function clusterMetaData(req: ClusterSeedRequest): string {
  return `instance-id: ${req.instanceId}\nlocal-hostname: ${req.node.name}\n`;
}

export function clusterUserData(req: ClusterSeedRequest): string {
  const files = [
    { path: '/etc/network/interfaces.d/eth1', permissions: '0644', content: `auto eth1\niface eth1 inet static\n    address ${req.node.address}/${PREFIX}\n` },
    // Appended to /etc/hosts by runcmd, after cloud-init has rendered it (manage_etc_hosts).
    { path: '/etc/pharos-cluster-hosts', permissions: '0644', content: req.nodes.map((n) => `${n.address} ${n.name}\n`).join('') },
  ];
  const secrets = [
    `  - path: /etc/slurm/slurm.key\n    owner: slurm:slurm\n    permissions: '0600'\n    encoding: b64\n    content: ${req.slurmKeyBase64}`,
    ...(req.beegfsAuthBase64 ? [`  - path: /etc/beegfs/connauthfile\n    permissions: '0400'\n    encoding: b64\n    content: ${req.beegfsAuthBase64}`] : []),
  ];
  return `#cloud-config
users:
  - name: admin
    groups: [ sudo ]
    shell: /bin/bash
    lock_passwd: true
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys: [ "${req.sshPublicKey}" ]
ssh_pwauth: false
disable_root: true
write_files:
${files
  .map(
    (f) =>
      `  - path: ${f.path}\n    permissions: '${f.permissions}'\n    content: |\n${f.content
        .split('\n')
        .filter(Boolean)
        .map((l) => `      ${l}`)
        .join('\n')}`,
  )
  .join('\n')}
${secrets.join('\n')}
runcmd:
  - [ sh, -c, "cat /etc/pharos-cluster-hosts >> /etc/hosts" ]
  - [ ifup, eth1 ]
${req.start.map((u) => `  - [ systemctl, start, ${u} ]`).join('\n')}
`;
}
