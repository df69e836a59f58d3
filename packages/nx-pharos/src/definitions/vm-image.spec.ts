import { describe, expect, it } from 'vitest';
import { inferVmImageProject } from '../plugin/infer-vm-image';
import { parseVmImageDefinition, withoutProjects } from './vm-image';

const FILE = 'packer/cloud-base/vm-image.yaml';

describe('vm-image.yaml', () => {
  it('reads a base image and an image built from another, with defaults', () => {
    const base = parseVmImageDefinition('suite: bookworm\nbaseDisk: { script: base-disk.sh }\ntemplate: cloud-base.pkr.hcl\nprovision: [scripts/common.sh]\n', FILE);
    expect(base).toEqual({ suite: 'bookworm', baseDisk: { script: 'base-disk.sh', size: '4096M' }, template: 'cloud-base.pkr.hcl', seed: 'seed', provision: ['scripts/common.sh'], cpus: 2, memory: 1536, packages: [], files: [], provisionRequires: {} });
    const child = parseVmImageDefinition('suite: bookworm\nfrom: cloud-base\ntemplate: ../cloud-base/cloud-base.pkr.hcl\nseed: ../cloud-base/seed\n', 'packer/x/vm-image.yaml');
    expect(child.from).toBe('cloud-base');
  });

  it('names the file and the problem', () => {
    expect(() => parseVmImageDefinition('suite: bookworm\ntemplate: t.pkr.hcl\n', FILE)).toThrow('exactly one of "baseDisk"');
    expect(() => parseVmImageDefinition('suite: bookworm\nfrom: a\nbaseDisk: { script: x }\ntemplate: t\n', FILE)).toThrow('exactly one of');
    expect(() => parseVmImageDefinition('suite: bookworm\nfrom: a\ntemplate: /abs.hcl\n', FILE)).toThrow('"template" must be a path relative to the project');
    expect(() => parseVmImageDefinition('suite: bookworm\nfrom: a\ntemplate: t\nmemroy: 1\n', FILE)).toThrow('unknown key "memroy"');
    expect(() => parseVmImageDefinition('suite: bookworm\nbaseDisk: { script: x, size: 4G }\ntemplate: t\n', FILE)).toThrow('"baseDisk.size" must be in MiB');
  });

  it('infers base-disk, validate, fmt and image, with the base disk and tool versions in the key', () => {
    const def = parseVmImageDefinition('suite: bookworm\nbaseDisk: { script: base-disk.sh }\ntemplate: cloud-base.pkr.hcl\n', FILE);
    const p = inferVmImageProject(FILE, def, [], {});
    expect(p.name).toBe('cloud-base');
    expect(Object.keys(p.targets ?? {}).sort()).toEqual(['base-disk', 'build', 'fmt', 'image', 'test', 'validate']);
    expect(p.targets?.image.dependsOn).toEqual(['validate', 'base-disk']);
    expect(p.targets?.image.inputs).toContainEqual({ dependentTasksOutputFiles: '**/base.json' });
    expect(p.targets?.image.inputs).toContainEqual({ runtime: 'node packages/nx-pharos/bin/pharos.cjs tool-versions packer qemu' });
    expect(p.targets?.image.outputs).not.toContain('{workspaceRoot}/dist/{projectRoot}/base');
    expect(p.targets?.fmt.cache).toBe(false);
    const child = inferVmImageProject('packer/hpc-compute/vm-image.yaml', parseVmImageDefinition('suite: bookworm\nfrom: cloud-base\ntemplate: t.pkr.hcl\n', 'x'), [], {});
    expect(child.targets?.image.dependsOn).toEqual(['validate', { projects: ['cloud-base'], target: 'image' }]);
    expect(child.implicitDependencies).toContain('cloud-base');
    expect(child.targets?.['base-disk']).toBeUndefined();
  });

  it('reads packages, files and the cluster, and leaves out a package project with the scripts that need it', () => {
    const text = `suite: bookworm
from: cloud-base
template: ../cloud-base/cloud-base.pkr.hcl
packages:
  - { project: slurm, names: [slurm-smd, slurm-smd-slurmd] }
  - { project: beegfs, names: [beegfs-client-dkms] }
files:
  - { template: ../hpc/slurm.conf.hbs, name: slurm.conf }
cluster: { controller: hpc-controller, nodes: [hpc-compute] }
provision:
  - ../hpc/scripts/install-debs.sh
  - { script: ../hpc/scripts/beegfs-client.sh, requires: beegfs }
`;
    const def = parseVmImageDefinition(text, 'packer/hpc-compute/vm-image.yaml');
    expect(def.packages).toEqual([{ project: 'slurm', names: ['slurm-smd', 'slurm-smd-slurmd'] }, { project: 'beegfs', names: ['beegfs-client-dkms'] }]);
    expect(def.files).toEqual([{ template: '../hpc/slurm.conf.hbs', name: 'slurm.conf' }]);
    expect(def.cluster).toEqual({ controller: 'hpc-controller', nodes: ['hpc-compute'] });
    expect(def.provision).toEqual(['../hpc/scripts/install-debs.sh', '../hpc/scripts/beegfs-client.sh']);
    const without = withoutProjects(def, ['beegfs']);
    expect(without.packages.map((p) => p.project)).toEqual(['slurm']);
    expect(without.provision).toEqual(['../hpc/scripts/install-debs.sh']);
    expect(withoutProjects(def, [])).toBe(def);

    const packages = { slurm: { root: 'third-party/slurm', release: '24.11.5' }, beegfs: { root: 'third-party/beegfs', release: '7.4.6' } };
    const p = inferVmImageProject('packer/hpc-compute/vm-image.yaml', def, [], packages);
    // Nx runs a dependency in its default configuration, so the edge names the suite's own target.
    expect(p.targets?.image.dependsOn).toEqual(['validate', { projects: ['cloud-base'], target: 'image' }, { projects: ['slurm'], target: 'deb-bookworm' }, { projects: ['beegfs'], target: 'deb-bookworm' }]);
    // Shared files outside the project are inputs one by one.
    expect(p.targets?.image.inputs).toEqual(expect.arrayContaining(['{workspaceRoot}/packer/cloud-base/cloud-base.pkr.hcl', '{workspaceRoot}/packer/hpc/scripts/beegfs-client.sh', '{workspaceRoot}/packer/hpc/slurm.conf.hbs', { dependentTasksOutputFiles: '**/debs.json' }]));
    expect(p.targets?.verify.options).toEqual({ controller: 'hpc-controller', nodes: ['hpc-compute'] });
    expect(p.targets?.test.dependsOn).toEqual(['validate', 'verify']);
    const lean = inferVmImageProject('packer/hpc-compute/vm-image.yaml', def, ['beegfs', 'other'], packages);
    expect(lean.targets?.image.options.without).toEqual(['beegfs']);
    expect(lean.implicitDependencies).not.toContain('beegfs');
    const controller = inferVmImageProject('packer/hpc-controller/vm-image.yaml', def, [], packages);
    expect(controller.targets?.verify).toBeUndefined();
    expect(controller.targets?.test.dependsOn).toEqual(['validate', { projects: ['hpc-compute'], target: 'verify' }]);
    expect(() => parseVmImageDefinition(text.replace('requires: beegfs', 'requires: 3'), 'x')).toThrow('"provision[1].requires" must name a package project');
  });
});
