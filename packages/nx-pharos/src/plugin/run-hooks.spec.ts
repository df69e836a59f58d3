import { mkdirSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { preTasksExecution } from './run-hooks';

describe('preTasksExecution', () => {
  const ws = mkdtempSync(join(tmpdir(), 'pharos-run-hooks-'));
  const run = () => preTasksExecution(undefined, { id: 'run-1', workspaceRoot: ws, nxJsonConfiguration: {}, argv: [] });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(ws, { recursive: true, force: true });
  });

  it("gives every task the run's id, and points the workspace's store anchor at this machine's store", () => {
    vi.stubEnv('PHAROS_NX_RUN', '');
    vi.stubEnv('PHAROS_STORE', '/srv/pharos-store');
    run();
    expect(process.env.PHAROS_NX_RUN).toBe('run-1');
    // Before any task: the product links a cache hit restores lead somewhere at once.
    expect(readlinkSync(join(ws, '.pharos/store'))).toBe('/srv/pharos-store');
  });

  it('only warns when the anchor cannot be made: the tasks that need it say what is wrong', () => {
    mkdirSync(join(ws, '.pharos/store'), { recursive: true });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => run()).not.toThrow();
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^pharos: warning: .*\.pharos\/store is not a link/);
    } finally {
      stderr.mockRestore();
    }
  });
});
