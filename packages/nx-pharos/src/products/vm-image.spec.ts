import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseDiskDir, readVerifiedDisk, vmImageFiles, vmImageOutputs, writeVmManifest } from './vm-image';

describe('VM image products', () => {
  let ws: string;
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-vm-products-'));
  });
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it('spells the files and outputs once', () => {
    expect(vmImageFiles('hpc-compute')).toEqual(['hpc-compute.qcow2', 'hpc-compute.qcow2.sha256', 'packer-manifest.json', 'vm-image.json']);
    expect(vmImageOutputs('x')).toContain('{workspaceRoot}/dist/{projectRoot}/x.qcow2');
    expect(baseDiskDir('packer/cloud-base')).toBe('dist/packer/cloud-base/base');
  });

  it('reads a disk through its manifest and checks its digest, naming the producer', async () => {
    const manifest = join(ws, 'base.json');
    const product = { manifest, producer: 'cloud-base:base-disk' };
    await expect(readVerifiedDisk(product, ws, 'base disk')).rejects.toThrow('no base disk manifest');
    writeFileSync(join(ws, 'base.qcow2'), 'disk');
    await writeVmManifest(manifest, {
      schema: 1,
      file: 'base.qcow2',
      sha256: createHash('sha256').update('disk').digest('hex'),
      bytes: 4,
      suite: 'bookworm',
      mirror: 'm',
    });
    expect(readFileSync(manifest, 'utf8').endsWith('}\n')).toBe(true);
    const read = await readVerifiedDisk<{ file: string; sha256: string; suite: string }>(product, ws, 'missing');
    expect([read.disk, read.manifest.suite]).toEqual([join(ws, 'base.qcow2'), 'bookworm']);
    writeFileSync(join(ws, 'base.qcow2'), 'other');
    await expect(readVerifiedDisk(product, ws, 'missing')).rejects.toThrow(/base.qcow2 has sha256/);
  });
});
