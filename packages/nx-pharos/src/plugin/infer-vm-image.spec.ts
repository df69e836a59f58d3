import { describe, expect, it } from 'vitest';
import { parseVmImageDefinition } from '../definitions/vm-image';
import { COMPUTE_NODE } from '../testing/vm-images';
import { inferVmImageProject } from './infer-vm-image';

const COMPUTE = `suite: bookworm
from: cloud-base
template: ../cloud-base/cloud-base.pkr.hcl
packages:
  - { project: slurm, names: [slurm-smd] }
  - { project: beegfs, names: [beegfs-client-dkms] }
cluster: { controller: hpc-controller, nodes: [hpc-compute] }
`;
const FILE = 'packer/hpc-compute/vm-image.yaml';
const BASE_FILE = 'packer/cloud-base/vm-image.yaml';
const PACKAGES = { slurm: { root: 'third-party/slurm', release: '24.11.5' }, beegfs: { root: 'third-party/beegfs', release: '7.4.6' } };

describe('VM image inference', () => {
  const def = parseVmImageDefinition(COMPUTE, FILE);

  it("puts each package project's .deb folder for the suite into the image's own options, so the release is in its key", () => {
    const image = inferVmImageProject(FILE, def, [], PACKAGES).targets?.image;
    expect(image?.options.debs).toEqual([
      { project: 'slurm', dir: 'dist/third-party/slurm/24.11.5/bookworm' },
      { project: 'beegfs', dir: 'dist/third-party/beegfs/7.4.6/bookworm' },
    ]);
    expect(image?.dependsOn).toContainEqual({ projects: ['slurm'], target: 'deb-bookworm' });
    const lean = inferVmImageProject(FILE, def, ['beegfs'], { slurm: PACKAGES.slurm }).targets?.image;
    expect(lean?.options.debs).toEqual([{ project: 'slurm', dir: 'dist/third-party/slurm/24.11.5/bookworm' }]);
    expect(() => inferVmImageProject(FILE, def, [], { slurm: PACKAGES.slurm })).toThrow('"packages" names beegfs, which is not a project with a recipe.yaml');
  });

  it("takes each executor's source inputs from its import graph, the scripts beside each module included", () => {
    const p = inferVmImageProject(FILE, def, [], PACKAGES);
    const src = '{workspaceRoot}/packages/nx-pharos/src';
    expect(p.targets?.image.inputs).toEqual(
      expect.arrayContaining([
        `${src}/executors/packer-image/schema.json`,
        `${src}/lib/vm-image/stage.ts`,
        `${src}/lib/vm-image/normalize-options.ts`,
        `${src}/products/vm-image.ts`,
        `${src}/tools/packer.ts`,
      ]),
    );
    expect(p.targets?.verify.inputs).toEqual(
      expect.arrayContaining([
        `${src}/executors/vm-cluster-verify/cluster-checks.ts`,
        `${src}/executors/vm-cluster-verify/cluster-checks.sh`,
        `${src}/tools/ssh.ts`,
        `${src}/tools/wait-cloud-init.sh`,
      ]),
    );
    expect(p.targets?.validate.inputs).toContain(`${src}/lib/vm-image/stage.ts`);
    expect(p.targets?.image.outputs).toEqual(
      ['hpc-compute.qcow2', 'hpc-compute.qcow2.sha256', 'packer-manifest.json', 'vm-image.json'].map((f) => `{workspaceRoot}/dist/{projectRoot}/${f}`),
    );
    const base = inferVmImageProject(
      'packer/cloud-base/vm-image.yaml',
      parseVmImageDefinition('suite: bookworm\nbaseDisk: { script: base-disk.sh }\ntemplate: t.pkr.hcl\n', 'x'),
      [],
      {},
    );
    expect(base.targets?.['base-disk'].outputs).toEqual(['{workspaceRoot}/dist/{projectRoot}/base']);
    expect(base.targets?.['base-disk'].options.outputPath).toBe('dist/{projectRoot}/base');
    expect(base.targets?.image.options.outputPath).toBe('dist/{projectRoot}');
  });
});

describe('inferVmImageProject', () => {
  it('infers base-disk, validate, fmt and image, with the base disk and tool versions in the key', () => {
    const def = parseVmImageDefinition('suite: bookworm\nbaseDisk: { script: base-disk.sh }\ntemplate: cloud-base.pkr.hcl\n', BASE_FILE);
    const p = inferVmImageProject(BASE_FILE, def, [], {});
    expect(p.name).toBe('cloud-base');
    expect(Object.keys(p.targets ?? {}).sort()).toEqual(['base-disk', 'build', 'fmt', 'image', 'test', 'validate']);
    expect(p.targets?.image.dependsOn).toEqual(['validate', 'base-disk']);
    expect(p.targets?.image.inputs).toContainEqual({ dependentTasksOutputFiles: '**/base.json' });
    expect(p.targets?.image.inputs).toContainEqual({ runtime: 'node packages/nx-pharos/bin/pharos.cjs tool-versions packer qemu' });
    expect(p.targets?.image.outputs).not.toContain('{workspaceRoot}/dist/{projectRoot}/base');
    expect(p.targets?.fmt.cache).toBe(false);
    const child = inferVmImageProject(
      'packer/hpc-compute/vm-image.yaml',
      parseVmImageDefinition('suite: bookworm\nfrom: cloud-base\ntemplate: t.pkr.hcl\n', 'x'),
      [],
      {},
    );
    expect(child.targets?.image.dependsOn).toEqual(['validate', { projects: ['cloud-base'], target: 'image' }]);
    expect(child.implicitDependencies).toContain('cloud-base');
    expect(child.targets?.['base-disk']).toBeUndefined();
  });

  it("takes each package project's .debs from its deb-<suite> target, and leaves out what the site is without", () => {
    const def = parseVmImageDefinition(COMPUTE_NODE, 'packer/hpc-compute/vm-image.yaml');
    const packages = { slurm: { root: 'third-party/slurm', release: '24.11.5' }, beegfs: { root: 'third-party/beegfs', release: '7.4.6' } };
    const p = inferVmImageProject('packer/hpc-compute/vm-image.yaml', def, [], packages);
    // Nx runs a dependency in its default configuration, so the edge names the suite's own target.
    expect(p.targets?.image.dependsOn).toEqual([
      'validate',
      { projects: ['cloud-base'], target: 'image' },
      { projects: ['slurm'], target: 'deb-bookworm' },
      { projects: ['beegfs'], target: 'deb-bookworm' },
    ]);
    // Shared files outside the project are inputs one by one.
    expect(p.targets?.image.inputs).toEqual(
      expect.arrayContaining([
        '{workspaceRoot}/packer/cloud-base/cloud-base.pkr.hcl',
        '{workspaceRoot}/packer/hpc/scripts/beegfs-client.sh',
        '{workspaceRoot}/packer/hpc/slurm.conf.hbs',
        { dependentTasksOutputFiles: '**/debs.json' },
      ]),
    );
    expect(p.targets?.verify.options).toEqual({ controller: 'hpc-controller', nodes: ['hpc-compute'] });
    expect(p.targets?.test.dependsOn).toEqual(['validate', 'verify']);
    const lean = inferVmImageProject('packer/hpc-compute/vm-image.yaml', def, ['beegfs', 'other'], packages);
    expect(lean.targets?.image.options.without).toEqual(['beegfs']);
    expect(lean.implicitDependencies).not.toContain('beegfs');
    const controller = inferVmImageProject('packer/hpc-controller/vm-image.yaml', def, [], packages);
    expect(controller.targets?.verify).toBeUndefined();
    expect(controller.targets?.test.dependsOn).toEqual(['validate', { projects: ['hpc-compute'], target: 'verify' }]);
  });

  it('makes the containers a compute node runs from BeeGFS inputs of its verify only, and refuses one that is not a container project', () => {
    const withContainers = parseVmImageDefinition(COMPUTE.replace('nodes: [hpc-compute] }', 'nodes: [hpc-compute], containers: [openmpi] }'), FILE);
    const roots = { openmpi: 'containers/openmpi', 'python-science': 'containers/python-science' };
    const p = inferVmImageProject(FILE, withContainers, [], PACKAGES, roots);
    expect(p.targets?.verify.options).toEqual({ controller: 'hpc-controller', nodes: ['hpc-compute'], containers: ['openmpi'] });
    expect(p.targets?.verify.dependsOn).toContainEqual({ projects: ['openmpi'], target: 'sif' });
    expect(p.targets?.verify.inputs).toEqual(
      expect.arrayContaining([{ dependentTasksOutputFiles: '**/*.sif.json' }, '{workspaceRoot}/containers/openmpi/container.yaml']),
    );
    expect(p.implicitDependencies).toContain('openmpi');
    // The image is the same with or without them: its options (and so its cache key) do not carry them.
    expect(p.targets?.image.options).toEqual(inferVmImageProject(FILE, parseVmImageDefinition(COMPUTE, FILE), [], PACKAGES, roots).targets?.image.options);
    expect(p.targets?.image.options.cluster).toEqual({ controller: 'hpc-controller', nodes: ['hpc-compute'] });
    expect(() => inferVmImageProject(FILE, withContainers, [], PACKAGES, { 'python-science': 'containers/python-science' })).toThrow(
      '"cluster.containers" names openmpi, which is not an application container project',
    );
  });
});
