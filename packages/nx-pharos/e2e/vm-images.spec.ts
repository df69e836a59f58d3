import { execa } from 'execa';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, filesIn, nx, removeDir } from './harness';

/**
 * The fast parts of the VM image projects through Nx, with the real Packer: validate, fmt and the errors a build
 * gives before any VM starts. Building and booting images takes minutes per image under TCG, so it has its own
 * command (npm run test:vm).
 */
const qemuProcesses = async () => (await execa('pgrep', ['-c', 'qemu-system'], { reject: false })).stdout.trim();

describe('VM images (fast targets)', () => {
  let ws: string;
  const template = () => join(ws, 'packer/cloud-base/cloud-base.pkr.hcl');
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeDir(ws));

  it('validates the template with the installed Packer, and is a cache hit the second time', async () => {
    const run = await nx(['run', 'cloud-base:validate'], ws);
    expect(run.exitCode, run.output.slice(-2000)).toBe(0);
    expect(run.output).toMatch(/pharos: packer\/cloud-base\/cloud-base\.pkr\.hcl is valid for Packer \d+\.\d+\.\d+/);
    const again = await nx(['run', 'cloud-base:validate'], ws);
    expect(again.tasks.get('cloud-base:validate')).toBe('cache');
  });

  it('gives file:line for invalid HCL', async () => {
    const good = readFileSync(template(), 'utf8');
    const line = good.split('\n').length + 2;
    try {
      appendFileSync(template(), '\nlocals {\n  broken =\n}\n');
      const run = await nx(['run', 'cloud-base:validate'], ws);
      expect(run.exitCode).not.toBe(0);
      expect(run.output).toContain(`pharos: packer/cloud-base/cloud-base.pkr.hcl:${line}: packer validate: Invalid expression`);
    } finally {
      writeFileSync(template(), good);
    }
  });

  it('formats only the template, never a built image', async () => {
    const dist = join(ws, 'dist/packer/cloud-base');
    mkdirSync(dist, { recursive: true });
    writeFileSync(join(dist, 'cloud-base.qcow2'), 'a built image');
    const before = statSync(join(dist, 'cloud-base.qcow2')).mtimeMs;
    const good = readFileSync(template(), 'utf8');
    try {
      writeFileSync(template(), good.replace(/^(\s*)(\w+)(\s*)=/m, '$1$2    =    '));
      const check = await nx(['run', 'cloud-base:fmt', '--check'], ws);
      expect(check.exitCode).not.toBe(0);
      expect(check.output).toContain('pharos: packer/cloud-base/cloud-base.pkr.hcl: the template is not formatted');
      const fmt = await nx(['run', 'cloud-base:fmt'], ws);
      expect(fmt.exitCode, fmt.output).toBe(0);
      expect(readFileSync(template(), 'utf8')).toBe(good);
      expect(filesIn(dist)).toEqual(['cloud-base.qcow2']);
      expect(statSync(join(dist, 'cloud-base.qcow2')).mtimeMs).toBe(before);
    } finally {
      writeFileSync(template(), good);
      removeDir(dist);
    }
  });

  it('names the target to build when the base disk is missing, and starts no VM', async () => {
    const run = await nx(['run', 'cloud-base:image', '--exclude-task-dependencies'], ws);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain('pharos: dist/packer/cloud-base/base/base.json: no base disk manifest');
    expect(run.output).toContain('next: build it: npx nx run cloud-base:base-disk');
    expect(filesIn(join(ws, 'dist/packer/cloud-base'))).toEqual([]);
    expect(await qemuProcesses()).toBe('0');
  });
});
