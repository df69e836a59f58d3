import type { ExecutorContext } from '@nx/devkit';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runExecutor } from './executor';

describe('runExecutor', () => {
  const root = mkdtempSync(join(tmpdir(), 'pharos-run-'));
  const context = { root, projectName: 'slurm', targetName: 'deb-trixie' } as ExecutorContext;
  const product = join(root, 'dist/third-party/slurm/1.0/trixie');
  const lock = `${product}.lock`;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('holds the product lock, named after the task, for the whole body and releases it after a failure too', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let seen: unknown;
    const result = await runExecutor(async (run) => {
      await run.lockProduct(context, product, {});
      seen = JSON.parse(readFileSync(lock, 'utf8'));
      throw new Error('build failed');
    });
    stderr.mockRestore();
    expect(result).toEqual({ success: false });
    expect(seen).toMatchObject({ type: 'nx-task slurm:deb-trixie', pid: process.pid });
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(join(root, 'dist'))).toBe(false); // a failed run leaves nothing in dist/, not even a folder
  });

  it('fails at once with --no-wait (wait: false) while another run holds the lock, naming it', async () => {
    // The test runner's parent process, alive on this node, stands in for the other run.
    const other = { type: 'nx-task slurm:deb-trixie', pid: process.ppid, node: hostname(), job_id: null, created_at: '2025-01-01T00:00:00.000Z' };
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, JSON.stringify(other));
    const messages: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((t) => messages.push(String(t)) > 0);
    const result = await runExecutor((run) => run.lockProduct(context, product, { wait: false }));
    stderr.mockRestore();
    expect(result).toEqual({ success: false });
    expect(messages.join('')).toContain(
      `pharos: slurm:deb-trixie: another run holds dist/third-party/slurm/1.0/trixie.lock: nx-task slurm:deb-trixie (pid ${process.ppid} on ${hostname()}, since 2025-01-01T00:00:00.000Z)`,
    );
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toEqual(other);
  });
});
