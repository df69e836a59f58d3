import type { ProjectConfiguration } from '@nx/devkit';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, containerIds, executorContext, realProduct, removeDir } from '../../../e2e/harness';
import type { ContainerCheck } from '../../definitions/container';
import imageTestExecutor from './executor';

// Real Docker engine, on a copy of the debian-trixie product the global setup built.
describe('image-test executor', () => {
  let ws: string;
  const projects: Record<string, ProjectConfiguration> = { t: { root: 'containers/t', name: 't' } };
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-image-test-'));
    mkdirSync(join(ws, 'dist/containers/t'), { recursive: true });
    for (const f of ['image.json', 'image.tar']) copyFileSync(join(realProduct('containers/debian-trixie'), f), join(ws, 'dist/containers/t', f));
  });
  afterAll(() => removeDir(ws));
  const run = (checks: ContainerCheck[]) => captureOutput(() => imageTestExecutor({ checks }, executorContext(ws, 't', 'test', projects)));

  it('passes real checks and reports a failing one with command, runtime, expected and actual', async () => {
    const before = await containerIds();
    const ok = await run([{ name: 'codename', command: '. /etc/os-release; echo $VERSION_CODENAME', expectOutput: 'trixie' }]);
    expect(ok.result.success).toBe(true);
    expect(ok.stdout).toContain('ok   codename');
    const bad = await run([{ command: 'echo 41', expectOutput: '42' }]);
    expect(bad.result.success).toBe(false);
    expect(bad.stderr).toContain('check "echo 41" in docker: `echo 41`: expected output "42", got "41"');
    expect(await containerIds()).toEqual(before);
  });

  it('stops a check that hangs at its timeout, names it and its limit, and leaves no container', async () => {
    const before = await containerIds();
    const started = Date.now();
    const { result, stderr } = await run([{ name: 'sleepy', command: 'sleep 100000', timeout: '2s' }]);
    expect(result.success).toBe(false);
    expect(stderr).toContain('check "sleepy" did not finish within 2s; its container was stopped and removed');
    expect(stderr).toContain('raise its limit: set "timeout:" on the check in the "checks" option of');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await containerIds()).toEqual(before);
  });

  it('refuses a corrupt archive', async () => {
    const fd = openSync(join(ws, 'dist/containers/t/image.tar'), 'r+');
    writeSync(fd, Buffer.from('corrupt'), 0, 7, 4096);
    closeSync(fd);
    const { result, stderr } = await run([]);
    expect(result.success).toBe(false);
    expect(stderr).toMatch(/dist\/containers\/t\/image.tar: .*the image archive has sha256 [0-9a-f]{64}, its manifest says/);
  });
});
