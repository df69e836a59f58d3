import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchMissingBlob, useTeamStore } from '../../products/store-files';
import { runExecutor } from './install';

const PACKAGE = join(__dirname, '../../..');
const blob = { sha256: 'ab'.padEnd(64, '0'), bytes: 1, dest: '/nonexistent/x', store: '/nonexistent', rebuild: 'npx nx run a:b' };

describe('the team store wiring', () => {
  afterEach(() => useTeamStore(undefined));

  it('is installed by the runExecutor every executor calls, while its body runs', async () => {
    useTeamStore(undefined);
    // No team store: a missing blob is simply not fetched, whatever the environment says.
    expect(await fetchMissingBlob(blob, { PHAROS_REGISTRY: 'not an address' })).toEqual({ fetched: false });
    let inside: unknown;
    const result = await runExecutor(async () => {
      // Installed: the environment is read, and a bad PHAROS_REGISTRY is an error.
      inside = await fetchMissingBlob(blob, { PHAROS_REGISTRY: 'not an address' }).catch((err: Error) => err.message);
      expect(await fetchMissingBlob(blob, { PHAROS_REGISTRY: 'off' })).toEqual({ fetched: false });
    });
    expect(result).toEqual({ success: true });
    expect(inside).toContain('PHAROS_REGISTRY is "not an address"');
    // Gone again: a process that ran an executor in passing (a spec) is left as it was.
    expect(await fetchMissingBlob(blob, { PHAROS_REGISTRY: 'not an address' })).toEqual({ fetched: false });
  });

  it('reaches every executor: each one takes runExecutor from here, not from utils/executor', () => {
    const executors = JSON.parse(readFileSync(join(PACKAGE, 'executors.json'), 'utf8')).executors as Record<string, { implementation: string }>;
    const offenders = Object.entries(executors)
      .map(([name, e]) => ({ name, text: readFileSync(join(PACKAGE, `${e.implementation.replace(/\.ts$/, '')}.ts`), 'utf8') }))
      .filter(
        ({ text }) =>
          !/import \{ runExecutor \} from '\.\.\/\.\.\/lib\/team-store\/install';/.test(text) ||
          /runExecutor[^;]*from '\.\.\/\.\.\/utils\/executor'/.test(text),
      )
      .map((e) => e.name);
    expect(Object.keys(executors).length).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});
