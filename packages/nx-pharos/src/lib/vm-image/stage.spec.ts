import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executorContext } from '../../../e2e/harness';
import { parseVmImageDefinition } from '../../definitions/vm-image';
import { packerSourcePath, provisionScripts, renderFiles, SETTINGS_FILE, stageDebs, stageTemplate, templateVars } from './stage';

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

  it('uploads the bytes of a .deb that is a link into the store, never the link', async () => {
    const dir = 'dist/third-party/slurm/24.11.5/bookworm';
    const sha256 = createHash('sha256').update('a').digest('hex');
    put(`store/sha256/${sha256.slice(0, 2)}/${sha256}`, 'a');
    mkdirSync(join(ws, '.pharos'));
    symlinkSync(join(ws, 'store'), join(ws, '.pharos/store'));
    mkdirSync(join(ws, dir), { recursive: true });
    symlinkSync(`../../../../../.pharos/store/sha256/${sha256.slice(0, 2)}/${sha256}`, join(ws, dir, 'slurm-smd_1_amd64.deb'));
    const debs = [{ file: 'slurm-smd_1_amd64.deb', package: 'slurm-smd', version: '1', architecture: 'amd64', sha256, bytes: 1 }];
    put(`${dir}/debs.json`, JSON.stringify({ schema: 1, project: 'slurm', version: '24.11.5', suite: 'bookworm', debs }));
    const upload = join(ws, 'upload');
    await stageDebs(upload, def, [{ project: 'slurm', dir }], executorContext(ws, 'hpc-compute', 'image', {}), 'hpc-compute:image');
    expect(lstatSync(join(upload, 'debs/slurm-smd_1_amd64.deb')).isFile()).toBe(true);
    expect(readFileSync(join(upload, 'debs/slurm-smd_1_amd64.deb'), 'utf8')).toBe('a');
  });

  it('gives Packer a base disk that is a link into the store by its real path, and a placeholder as it is', () => {
    const blob = join(ws, 'store/sha256/ab/ab00');
    mkdirSync(join(blob, '..'), { recursive: true });
    writeFileSync(blob, 'disk');
    mkdirSync(join(ws, '.pharos'));
    symlinkSync(join(ws, 'store'), join(ws, '.pharos/store'));
    const disk = join(ws, 'dist/packer/cloud-base/base/base.qcow2');
    mkdirSync(join(disk, '..'), { recursive: true });
    symlinkSync('../../../../.pharos/store/sha256/ab/ab00', disk);
    expect(packerSourcePath(disk)).toBe(realpathSync(blob));
    expect(lstatSync(packerSourcePath(disk)).isFile()).toBe(true);
    expect(packerSourcePath(join(ws, 'scratch/base.qcow2'))).toBe(join(ws, 'scratch/base.qcow2'));
  });

  it('gives the template one set of variables', () => {
    const inputs = {
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
    };
    const vars = templateVars(inputs);
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
    // The apt cache reaches the provisioning scripts' environment, and nothing else of the template.
    const through = templateVars({ ...inputs, aptProxy: 'http://10.0.2.2:3142' });
    expect(through).toEqual({ ...vars, provision_env: ['PHAROS_UPLOAD=/tmp/pharos-upload', 'http_proxy=http://10.0.2.2:3142'] });
  });
});
