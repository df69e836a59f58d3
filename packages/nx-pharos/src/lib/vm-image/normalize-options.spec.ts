import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executorContext } from '../../../e2e/harness';
import { DEFAULT_BOOT_TIMEOUT_MINUTES, DEFAULT_BUILD_TIMEOUT_MINUTES, normalizeVmClusterOptions, normalizeVmImageOptions } from './normalize-options';

describe('VM image options', () => {
  let ws: string;
  const projects = {
    'cloud-base': { root: 'packer/cloud-base' },
    'hpc-compute': { root: 'packer/hpc-compute' },
    'hpc-controller': { root: 'packer/hpc-controller' },
  };
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-vm-options-'));
    mkdirSync(join(ws, 'packer/cloud-base'), { recursive: true });
    mkdirSync(join(ws, 'packer/hpc-compute'), { recursive: true });
    writeFileSync(join(ws, 'packer/cloud-base/vm-image.yaml'), 'suite: bookworm\nbaseDisk: { script: base-disk.sh }\ntemplate: t.pkr.hcl\n');
    writeFileSync(
      join(ws, 'packer/hpc-compute/vm-image.yaml'),
      `suite: bookworm
from: cloud-base
template: t.pkr.hcl
packages: [{ project: beegfs, names: [beegfs-client-dkms] }, { project: slurm, names: [slurm-smd] }]
provision: [a.sh, { script: b.sh, requires: beegfs }]
cluster: { controller: hpc-controller, nodes: [hpc-compute] }
`,
    );
  });
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it('resolves the definition, its base disk, the output folder and every default once', () => {
    const o = normalizeVmImageOptions({ definition: 'packer/cloud-base/vm-image.yaml' }, executorContext(ws, 'cloud-base', 'image', projects));
    expect(o).toMatchObject({
      name: 'cloud-base',
      label: 'cloud-base:image',
      projectDir: join(ws, 'packer/cloud-base'),
      definitionFile: 'packer/cloud-base/vm-image.yaml',
      without: [],
      debs: [],
      outputDir: join(ws, 'dist/packer/cloud-base'),
    });
    expect(o.base).toEqual({ manifest: join(ws, 'dist/packer/cloud-base/base/base.json'), producer: 'cloud-base:base-disk' });
    expect(o.timeoutMinutes).toBe(DEFAULT_BUILD_TIMEOUT_MINUTES);
    expect([o.sshTimeoutMinutes('kvm'), o.sshTimeoutMinutes('tcg')]).toEqual([5, 20]);
    const disk = normalizeVmImageOptions(
      { definition: 'packer/cloud-base/vm-image.yaml' },
      executorContext(ws, 'cloud-base', 'base-disk', projects),
      'base-disk',
    );
    expect(disk.outputDir).toBe(join(ws, 'dist/packer/cloud-base/base'));
  });

  it('takes the options over the definition: without, cluster, debs, timeouts, output', () => {
    const debs = [{ project: 'slurm', dir: 'dist/third-party/slurm/24.11.5/bookworm' }];
    const o = normalizeVmImageOptions(
      {
        definition: 'packer/hpc-compute/vm-image.yaml',
        without: ['beegfs'],
        debs,
        cluster: { controller: 'c', nodes: ['n'] },
        timeoutMinutes: 5,
        sshTimeoutMinutes: 7,
        outputPath: '{projectRoot}/out',
      },
      executorContext(ws, 'hpc-compute', 'image', projects),
    );
    expect(o.def.packages.map((p) => p.project)).toEqual(['slurm']);
    expect(o.def.provision).toEqual(['a.sh']);
    expect(o.cluster).toEqual({ controller: 'c', nodes: ['n'] });
    expect(o.debs).toBe(debs);
    expect([o.timeoutMinutes, o.sshTimeoutMinutes('tcg'), o.sshTimeoutMinutes('kvm')]).toEqual([5, 7, 7]);
    expect(o.outputDir).toBe(join(ws, 'packer/hpc-compute/out'));
    expect(o.base).toEqual({ manifest: join(ws, 'dist/packer/cloud-base/vm-image.json'), producer: 'cloud-base:image' });
    const defaults = normalizeVmImageOptions({ definition: 'packer/hpc-compute/vm-image.yaml' }, executorContext(ws, 'hpc-compute', 'image', projects));
    expect(defaults.cluster).toEqual({ controller: 'hpc-controller', nodes: ['hpc-compute'] });
  });

  it('names a "from" that is not a project', () => {
    expect(() =>
      normalizeVmImageOptions(
        { definition: 'packer/hpc-compute/vm-image.yaml' },
        executorContext(ws, 'hpc-compute', 'image', { 'hpc-compute': projects['hpc-compute'] }),
      ),
    ).toThrow('"from" names cloud-base, which is not a project');
  });

  it('resolves a verify cluster: the controller first, each image manifest, the boot timeout', () => {
    const o = normalizeVmClusterOptions({ controller: 'hpc-controller', nodes: ['hpc-compute'] }, executorContext(ws, 'hpc-compute', 'verify', projects));
    expect(o.names).toEqual(['hpc-controller', 'hpc-compute']);
    expect(o.images).toEqual([
      { manifest: join(ws, 'dist/packer/hpc-controller/vm-image.json'), producer: 'hpc-controller:image' },
      { manifest: join(ws, 'dist/packer/hpc-compute/vm-image.json'), producer: 'hpc-compute:image' },
    ]);
    expect([o.compute, o.bootTimeoutMinutes]).toEqual(['hpc-compute', DEFAULT_BOOT_TIMEOUT_MINUTES]);
    expect(
      normalizeVmClusterOptions({ controller: 'hpc-controller', nodes: ['hpc-compute'], bootTimeoutMinutes: 3 }, executorContext(ws, 'x', 'verify', projects))
        .bootTimeoutMinutes,
    ).toBe(3);
    expect(() => normalizeVmClusterOptions({ controller: 'nope', nodes: ['hpc-compute'] }, executorContext(ws, 'x', 'verify', projects))).toThrow(
      'nope is not a project',
    );
  });
});
