import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executorContext } from '../../../e2e/harness';
import { parseVmImageDefinition } from '../../definitions/vm-image';
import { provisionScripts, renderFiles, SETTINGS_FILE, stageDebs, stageTemplate, templateVars } from './stage';

const DEFINITION = `suite: bookworm
from: cloud-base
template: ../cloud-base/image.pkr.hcl
seed: ../cloud-base/seed
packages: [{ project: slurm, names: [slurm-smd] }]
files: [{ template: ../hpc/slurm.conf.hbs, name: slurm.conf }]
provision: [../hpc/install.sh]
`;

describe('staging a VM image build', () => {
  let ws: string;
  const def = parseVmImageDefinition(DEFINITION, 'packer/hpc-compute/vm-image.yaml');
  const projectDir = () => join(ws, 'packer/hpc-compute');
  const put = (rel: string, text: string) => {
    mkdirSync(join(ws, rel, '..'), { recursive: true });
    writeFileSync(join(ws, rel), text);
  };
  beforeEach(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-stage-'));
    put('packer/hpc-compute/vm-image.yaml', DEFINITION);
    put('packer/cloud-base/image.pkr.hcl', 'source "qemu" "image" {}\n');
    put('packer/cloud-base/seed/user-data.hbs', '#cloud-config\nhostname: {{hostname}}\nkey: {{sshPublicKey}}\n');
    put('packer/cloud-base/seed/meta-data.hbs', 'instance-id: {{instanceId}}\n');
    put('packer/hpc/slurm.conf.hbs', 'SlurmctldHost={{cluster.controller}}\n{{#each cluster.nodes}}NodeName={{this}}\n{{/each}}');
    put('packer/hpc/install.sh', '#!/bin/sh\n');
  });
  afterEach(() => rmSync(ws, { recursive: true, force: true }));

  it('copies the template, writes the packer {} file and renders the seed; staged names map back to their sources', () => {
    const dir = join(ws, 'scratch');
    const staged = stageTemplate({ projectDir: projectDir(), workspaceRoot: ws, def }, dir, '1.6.6', {
      instanceId: 'i-1',
      hostname: 'hpc-compute',
      sshPublicKey: 'ssh-ed25519 AAAA k',
    });
    expect(readdirSync(dir).sort()).toEqual(['image.pkr.hcl', SETTINGS_FILE, 'seed'].sort());
    expect(readFileSync(join(dir, 'seed/user-data'), 'utf8')).toBe('#cloud-config\nhostname: hpc-compute\nkey: ssh-ed25519 AAAA k\n');
    expect(staged.seedFiles).toEqual([join(dir, 'seed/user-data'), join(dir, 'seed/meta-data')]);
    expect(staged.sourceOf('image.pkr.hcl')).toBe('packer/cloud-base/image.pkr.hcl');
    expect(staged.sourceOf(SETTINGS_FILE)).toBe(`${SETTINGS_FILE} (generated)`);
    rmSync(join(ws, 'packer/cloud-base/seed/meta-data.hbs'));
    expect(() =>
      stageTemplate({ projectDir: projectDir(), workspaceRoot: ws, def }, dir, '1.6.6', { instanceId: 'i', hostname: 'h', sshPublicKey: 'k' }),
    ).toThrow('meta-data.hbs is missing');
  });

  it('resolves provisioning scripts and renders files, naming the missing one', () => {
    expect(provisionScripts(projectDir(), ws, def)).toEqual([join(ws, 'packer/hpc/install.sh')]);
    const upload = join(ws, 'upload');
    mkdirSync(upload);
    renderFiles(upload, projectDir(), ws, def, { cluster: { controller: 'hpc-controller', nodes: ['a', 'b'] } });
    expect(readFileSync(join(upload, 'slurm.conf'), 'utf8')).toBe('SlurmctldHost=hpc-controller\nNodeName=a\nNodeName=b\n');
    expect(() => renderFiles(upload, projectDir(), ws, def, {})).toThrow(/cannot render/);
    rmSync(join(ws, 'packer/hpc/install.sh'));
    expect(() => provisionScripts(projectDir(), ws, def)).toThrow('a provisioning script does not exist');
  });

  it('uploads the named .debs from the folder in its own options, each checked against debs.json', async () => {
    const dir = 'dist/third-party/slurm/24.11.5/bookworm';
    const deb = (file: string, pkg: string, text: string) => {
      put(`${dir}/${file}`, text);
      return { file, package: pkg, version: '1', architecture: 'amd64', sha256: createHash('sha256').update(text).digest('hex'), bytes: text.length };
    };
    const debs = [deb('slurm-smd_1_amd64.deb', 'slurm-smd', 'a'), deb('slurm-smd-dev_1_amd64.deb', 'slurm-smd-dev', 'b')];
    put(`${dir}/debs.json`, JSON.stringify({ schema: 1, project: 'slurm', version: '24.11.5', suite: 'bookworm', debs }));
    const upload = join(ws, 'upload');
    const context = executorContext(ws, 'hpc-compute', 'image', {});
    expect(await stageDebs(upload, def, [{ project: 'slurm', dir }], context, 'hpc-compute:image')).toEqual(['slurm-smd_1_amd64.deb']);
    expect(readdirSync(join(upload, 'debs'))).toEqual(['slurm-smd_1_amd64.deb']);
    await expect(stageDebs(upload, def, [], context, 'hpc-compute:image')).rejects.toThrow('the image target has no .debs folder for it');
    writeFileSync(join(ws, dir, 'slurm-smd_1_amd64.deb'), 'changed');
    await expect(stageDebs(upload, def, [{ project: 'slurm', dir }], context, 'hpc-compute:image')).rejects.toThrow(/has sha256 .*, its manifest says/);
  });

  it('gives the template one set of variables', () => {
    const vars = templateVars({
      name: 'hpc-compute',
      def,
      scratch: '/s',
      upload: '/s/upload',
      baseImage: '/b.qcow2',
      baseSha256: 'ab',
      accelerator: 'tcg',
      privateKey: '/k',
      sshTimeoutMinutes: 20,
      provisionTimeoutMinutes: 75,
      seedFiles: ['/s/seed/user-data'],
      serialLog: '/l',
      provisionScripts: ['/p.sh'],
    });
    expect(vars).toEqual({
      upload_directory: '/s/upload/',
      base_image: '/b.qcow2',
      base_sha256: 'ab',
      output_directory: '/s/out',
      vm_name: 'hpc-compute.qcow2',
      accelerator: 'tcg',
      ssh_private_key_file: '/k',
      ssh_timeout: '20m',
      provision_timeout: '75m',
      seed_files: ['/s/seed/user-data'],
      serial_log: '/l',
      provision_scripts: ['/p.sh'],
      provision_env: ['PHAROS_UPLOAD=/tmp/pharos-upload'],
      cpus: 2,
      memory: 1536,
    });
  });
});
