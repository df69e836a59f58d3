import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VM_IMAGE_MANIFEST, vmImageDir, type VmImageManifest } from '../src/products/vm-image';
import { copyWorkspace, nx, NX_BIN, nxEnv, removeDir } from '../e2e/harness';

/**
 * The vm-image generator's output builds and tests at once: `nx run <new>:test` builds cloud-base (its base disk from
 * the Debian archive, then Packer) and the new image from it with real Packer and QEMU (TCG here: minutes), and the
 * generated provision script's check runs in the guest. `npm test` covers the generator with its unit spec and a real
 * `validate` (e2e/generators.spec.ts).
 */
describe('vm-image generator (Packer + QEMU)', () => {
  let ws: string;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeDir(ws));

  it('writes an image from cloud-base whose test builds it, the provision check passing in the guest', async () => {
    const gen = await execa(NX_BIN, ['g', '@pharos/nx-plugin:vm-image', 'demo-vm', '--from=cloud-base', '--packages=tree'], {
      cwd: ws,
      env: nxEnv(),
      all: true,
      reject: false,
      stdin: 'ignore',
    });
    expect(gen.exitCode, gen.all).toBe(0);
    const run = await nx(['run', 'demo-vm:test'], ws);
    expect(run.exitCode, run.output.slice(-5000)).toBe(0);
    expect(run.tasks.get('demo-vm:image')).toBe('ran');
    expect(run.output).toContain('provision: ok   demo-vm holds /etc/pharos-demo-vm and tree');
    const dir = join(ws, vmImageDir('packer/demo-vm'));
    const manifest = JSON.parse(readFileSync(join(dir, VM_IMAGE_MANIFEST), 'utf8')) as VmImageManifest;
    expect(manifest).toMatchObject({ project: 'demo-vm', suite: 'bookworm' });
    expect(existsSync(join(dir, manifest.file))).toBe(true);
  });
});
