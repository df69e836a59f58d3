import type { ExecutorContext } from '@nx/devkit';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runExecutor } from './executor';
import { NX_RUN_ENV, releaseNxRunLocks, runLocksFile } from './nx-run-locks';

describe('runExecutor', () => {
  const root = mkdtempSync(join(tmpdir(), 'pharos-run-'));
  const context = { root, projectName: 'slurm', targetName: 'deb-trixie' } as ExecutorContext;
  const product = join(root, 'dist/third-party/slurm/1.0/trixie');
  const lock = `${product}.lock`;
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  afterEach(() => vi.unstubAllEnvs());
  /** As Nx runs an executor: forked by the run (here the test runner's parent stands in for it), with the run's id. */
  const underNx = (runId: string) => {
    vi.stubEnv(NX_RUN_ENV, runId);
    vi.stubEnv('NX_FORKED_TASK_EXECUTOR', 'true');
  };

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

  it('after a success under Nx, hands the lock to the Nx run until its post hook, so the cache copy is of this product', async () => {
    rmSync(lock, { force: true });
    underNx('run-1');
    const result = await runExecutor((run) => run.lockProduct(context, product, {}));
    expect(result).toEqual({ success: true });
    const handed = readFileSync(lock, 'utf8');
    expect(JSON.parse(handed)).toMatchObject({
      type: 'nx-run slurm:deb-trixie, storing its outputs in the Nx cache',
      pid: process.ppid,
      node: hostname(),
    });
    expect(readFileSync(runLocksFile(root, 'run-1'), 'utf8')).toBe(`${JSON.stringify({ path: lock, text: handed })}\n`);
    expect(releaseNxRunLocks(root, 'run-1')).toEqual([lock]);
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(runLocksFile(root, 'run-1'))).toBe(false);
  });

  it('releases at once after a failure under Nx (nothing to cache), and after a success outside Nx', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    underNx('run-2');
    expect(
      await runExecutor(async (run) => {
        await run.lockProduct(context, product, {});
        throw new Error('build failed');
      }),
    ).toEqual({ success: false });
    stderr.mockRestore();
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(runLocksFile(root, 'run-2'))).toBe(false);
    vi.unstubAllEnvs();
    vi.stubEnv(NX_RUN_ENV, 'run-3'); // set, but not forked by Nx: no run to hand it to
    expect(await runExecutor((run) => run.lockProduct(context, product, {}))).toEqual({ success: true });
    expect(existsSync(lock)).toBe(false);
  });
});
