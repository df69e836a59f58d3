import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVmImageDefinition } from '../../definitions/vm-image';
import { inferVmImageProject } from '../../plugin/infer-vm-image';
import vmImageGenerator from './generator';

const CLOUD_BASE = 'suite: bookworm\nbaseDisk:\n  script: base-disk.sh\ntemplate: cloud-base.pkr.hcl\nseed: seed\nprovision:\n  - scripts/common.sh\n';
const HPC_COMPUTE =
  'suite: bookworm\nfrom: cloud-base\ntemplate: ../cloud-base/cloud-base.pkr.hcl\nseed: ../cloud-base/seed\nprovision:\n  - ../hpc/scripts/slurm-compute.sh\n  - ../cloud-base/scripts/common.sh\n';

function workspace() {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('packer/cloud-base/vm-image.yaml', CLOUD_BASE);
  tree.write('packer/hpc-compute/vm-image.yaml', HPC_COMPUTE);
  tree.write('containers/base-tools/Dockerfile', 'FROM debian:trixie\n');
  tree.write('packer/cloud-base/cloud-base.pkr.hcl', '');
  tree.write('packer/cloud-base/scripts/common.sh', '');
  return tree;
}

describe('vm-image generator', () => {
  it("writes an image from cloud-base with its template and seed, the provision script, then cloud-base's sysprep last", async () => {
    const tree = workspace();
    await vmImageGenerator(tree, { name: 'login-node', from: 'cloud-base', packages: ['tree'] });
    const def = parseVmImageDefinition(tree.read('packer/login-node/vm-image.yaml', 'utf8') as string, 'packer/login-node/vm-image.yaml');
    expect(def).toMatchObject({
      suite: 'bookworm',
      from: 'cloud-base',
      template: '../cloud-base/cloud-base.pkr.hcl',
      seed: '../cloud-base/seed',
      provision: ['scripts/provision.sh', '../cloud-base/scripts/common.sh'],
    });
    const project = inferVmImageProject('packer/login-node/vm-image.yaml', def, [], {});
    expect(project.targets?.image?.dependsOn).toEqual(['validate', { projects: ['cloud-base'], target: 'image' }]);
    expect(project.targets?.test?.dependsOn).toEqual(['validate', 'image']);
    expect(tree.read('packer/login-node/scripts/provision.sh', 'utf8')).toContain("packages='tree'");
    // Every path resolves from the new folder to a file of the tree (packer validate does not open provision scripts).
    for (const rel of [def.template, ...def.provision]) expect(tree.exists(posix.join('packer/login-node', rel)), rel).toBe(true);
  });

  it('takes the paths of an image that is itself from another one', async () => {
    const tree = workspace();
    await vmImageGenerator(tree, { name: 'gpu-compute', from: 'hpc-compute' });
    const def = parseVmImageDefinition(tree.read('packer/gpu-compute/vm-image.yaml', 'utf8') as string, 'x');
    expect(def).toMatchObject({
      from: 'hpc-compute',
      template: '../cloud-base/cloud-base.pkr.hcl',
      provision: ['scripts/provision.sh', '../cloud-base/scripts/common.sh'],
    });
  });

  // The provision script with the real sh: its check passes on what it wrote and fails, naming it, on what is missing.
  it("provision.sh's check fails when a package is missing", async () => {
    const tree = workspace();
    await vmImageGenerator(tree, { name: 'login-node', from: 'cloud-base', packages: ['no-such-package-here'] });
    const dir = mkdtempSync(join(tmpdir(), 'pharos-provision-'));
    const script = (tree.read('packer/login-node/scripts/provision.sh', 'utf8') as string)
      .replaceAll('/etc/pharos-login-node', join(dir, 'marker'))
      .replace(/if \[ -n "\$packages" \]; then[\s\S]*?\nfi\n/, '');
    writeFileSync(join(dir, 'provision.sh'), script);
    const r = await execa('sh', [join(dir, 'provision.sh')], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('provision: FAIL package no-such-package-here is not installed');
    const ok = await execa('sh', ['-c', script.replace("packages='no-such-package-here'", "packages=''")], { reject: false });
    expect(ok.stdout).toBe(`provision: ok   login-node holds /etc/pharos-login-node`.replace('/etc/pharos-login-node', join(dir, 'marker')));
  });

  it('refuses a --from that is not a VM image, a bad name or package, and an existing folder', async () => {
    const tree = workspace();
    await expect(vmImageGenerator(tree, { name: 'x', from: 'base-tools' })).rejects.toThrow(
      '--from "base-tools" is not a VM image project (no packer/base-tools/vm-image.yaml); the VM images here: cloud-base, hpc-compute',
    );
    await expect(vmImageGenerator(tree, { name: 'Login', from: 'cloud-base' })).rejects.toThrow(/VM image name "Login" must be lower case/);
    await expect(vmImageGenerator(tree, { name: 'x', from: 'cloud-base', packages: ['Bad Name'] })).rejects.toThrow(
      '--packages "Bad Name" is not a Debian package name',
    );
    await expect(vmImageGenerator(tree, { name: 'cloud-base', from: 'cloud-base' })).rejects.toThrow('packer/cloud-base already exists');
  });
});
