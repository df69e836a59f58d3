import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterMetaData, clusterUserData } from './cluster-seed';

describe('cluster seed', () => {
  const nodes = [
    { name: 'hpc-controller', address: '10.42.0.1' },
    { name: 'hpc-compute', address: '10.42.0.2' },
  ];
  const req = { node: nodes[1], nodes, sshPublicKey: 'ssh-ed25519 AAAA test', slurmKeyBase64: 'a2V5', start: ['slurmd'], instanceId: 'i-1' };

  it('is valid cloud-config with the key, the private network, the hosts, the secret and the daemon start', () => {
    const text = clusterUserData(req);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const data = parse(text);
    expect(data.users[0].ssh_authorized_keys).toEqual(['ssh-ed25519 AAAA test']);
    expect(data.write_files[0]).toMatchObject({
      path: '/etc/network/interfaces.d/eth1',
      content: 'auto eth1\niface eth1 inet static\n    address 10.42.0.2/24\n',
    });
    expect(data.write_files[1]).toMatchObject({ path: '/etc/pharos-cluster-hosts', content: '10.42.0.1 hpc-controller\n10.42.0.2 hpc-compute\n' });
    expect(data.write_files[2]).toMatchObject({ path: '/etc/slurm/slurm.key', owner: 'slurm:slurm', permissions: '0600', encoding: 'b64', content: 'a2V5' });
    expect(data.write_files).toHaveLength(3);
    expect(data.runcmd[0]).toEqual(['sh', '-c', 'cat /etc/pharos-cluster-hosts >> /etc/hosts']);
    expect(data.runcmd.slice(1)).toEqual([
      ['ifup', 'eth1'],
      ['systemctl', 'start', 'slurmd'],
    ]);
    expect(parse(clusterUserData({ ...req, beegfsAuthBase64: 'c2VjcmV0' })).write_files[3]).toMatchObject({
      path: '/etc/beegfs/connauthfile',
      content: 'c2VjcmV0',
    });
    expect(clusterMetaData(req)).toBe('instance-id: i-1\nlocal-hostname: hpc-compute\n');
  });
});
