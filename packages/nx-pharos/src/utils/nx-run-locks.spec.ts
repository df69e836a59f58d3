import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseNxRunLocks, runLocksFile } from './nx-run-locks';

describe('the locks an Nx run was handed', () => {
  const root = mkdtempSync(join(tmpdir(), 'pharos-runlocks-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const holder = (pid: number, node = hostname()) =>
    `${JSON.stringify({ type: 'nx-run p:image', pid, node, job_id: null, created_at: '2026-01-01T00:00:00.000Z' })}\n`;
  /** A run's list and its locks, as the executors leave them. */
  const handed = (runId: string, pid: number, names: string[], node?: string) => {
    const file = runLocksFile(root, runId);
    mkdirSync(dirname(file), { recursive: true });
    const entries = names.map((n) => {
      const path = join(root, 'dist', `${n}.lock`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, holder(pid, node));
      return { path, text: holder(pid, node) };
    });
    writeFileSync(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    return entries.map((e) => e.path);
  };

  it("removes this run's locks, and those of runs killed before their hook; never a live run's, another node's or a retaken lock", async () => {
    const child = execa('true');
    await child;
    const ended = child.pid as number; // a pid that has ended
    const [a, b] = handed('this-run', process.ppid, ['a', 'b']);
    const [c] = handed('killed-run', ended, ['c']);
    const [d] = handed('live-run', process.ppid, ['d']);
    const [e] = handed('other-node', ended, ['e'], 'another-node');
    writeFileSync(b, holder(4242)); // reclaimed and retaken by another run since
    expect(releaseNxRunLocks(root, 'this-run').sort()).toEqual([a, c]);
    expect(readFileSync(b, 'utf8')).toBe(holder(4242));
    expect([existsSync(d), existsSync(e)]).toEqual([true, true]);
    expect(['this-run', 'killed-run', 'live-run', 'other-node'].map((r) => existsSync(runLocksFile(root, r)))).toEqual([false, false, true, true]);
  });

  it('does nothing when no task handed it a lock', () => {
    expect(releaseNxRunLocks(mkdtempSync(join(tmpdir(), 'pharos-runlocks-none-')), 'any')).toEqual([]);
  });
});
