import { describe, expect, it } from 'vitest';
import { COMPUTE_NODE } from '../testing/vm-images';
import { parseVmImageDefinition, withoutProjects } from './vm-image';

const FILE = 'packer/cloud-base/vm-image.yaml';

describe('vm-image.yaml', () => {
  it('reads a base image and an image built from another, with defaults', () => {
    const base = parseVmImageDefinition(
      'suite: bookworm\nbaseDisk: { script: base-disk.sh }\ntemplate: cloud-base.pkr.hcl\nprovision: [scripts/common.sh]\n',
      FILE,
    );
    expect(base).toEqual({
      suite: 'bookworm',
      baseDisk: { script: 'base-disk.sh', size: '4096M' },
      template: 'cloud-base.pkr.hcl',
      seed: 'seed',
      provision: ['scripts/common.sh'],
      cpus: 2,
      memory: 1536,
      packages: [],
      files: [],
      provisionRequires: {},
    });
    const child = parseVmImageDefinition(
      'suite: bookworm\nfrom: cloud-base\ntemplate: ../cloud-base/cloud-base.pkr.hcl\nseed: ../cloud-base/seed\n',
      'packer/x/vm-image.yaml',
    );
    expect(child.from).toBe('cloud-base');
  });

  it('names the file and the problem', () => {
    expect(() => parseVmImageDefinition('suite: bookworm\ntemplate: t.pkr.hcl\n', FILE)).toThrow('exactly one of "baseDisk"');
    expect(() => parseVmImageDefinition('suite: bookworm\nfrom: a\nbaseDisk: { script: x }\ntemplate: t\n', FILE)).toThrow('exactly one of');
    expect(() => parseVmImageDefinition('suite: bookworm\nfrom: a\ntemplate: /abs.hcl\n', FILE)).toThrow('"template" must be a path relative to the project');
    expect(() => parseVmImageDefinition('suite: bookworm\nfrom: a\ntemplate: t\nmemroy: 1\n', FILE)).toThrow('unknown key "memroy"');
    expect(() => parseVmImageDefinition('suite: bookworm\nbaseDisk: { script: x, size: 4G }\ntemplate: t\n', FILE)).toThrow('"baseDisk.size" must be in MiB');
  });

  it('reads packages, files and the cluster, and leaves out a package project with the scripts that need it', () => {
    const def = parseVmImageDefinition(COMPUTE_NODE, 'packer/hpc-compute/vm-image.yaml');
    expect(def.packages).toEqual([
      { project: 'slurm', names: ['slurm-smd', 'slurm-smd-slurmd'] },
      { project: 'beegfs', names: ['beegfs-client-dkms'] },
    ]);
    expect(def.files).toEqual([{ template: '../hpc/slurm.conf.hbs', name: 'slurm.conf' }]);
    expect(def.cluster).toEqual({ controller: 'hpc-controller', nodes: ['hpc-compute'] });
    expect(def.provision).toEqual(['../hpc/scripts/install-debs.sh', '../hpc/scripts/beegfs-client.sh']);
    const without = withoutProjects(def, ['beegfs']);
    expect(without.packages.map((p) => p.project)).toEqual(['slurm']);
    expect(without.provision).toEqual(['../hpc/scripts/install-debs.sh']);
    expect(withoutProjects(def, [])).toBe(def);

    expect(() => parseVmImageDefinition(COMPUTE_NODE.replace('requires: beegfs', 'requires: 3'), 'x')).toThrow(
      '"provision[1].requires" must name a package project',
    );
  });
});
