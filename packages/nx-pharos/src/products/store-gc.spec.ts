import { describe, expect, it } from 'vitest';
import { failureOf } from '../testing/failure';
import { workspaceId } from '../utils/leftovers';
import { DEFAULT_KEEP_NEWER_MS, formatAge, parseKeepNewer, parseStoreGcArgs, planStoreGc, registrationPath, storeGcSummary, type StoredBlob } from './store-gc';

const hex = (c: string) => c.repeat(64);
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 1);
const blob = (c: string, bytes: number, ageMs: number): StoredBlob => ({ sha256: hex(c), bytes, mtimeMs: NOW - ageMs });

describe('planStoreGc', () => {
  const blobs = [blob('a', 100, 5 * HOUR), blob('b', 200, 5 * HOUR), blob('c', 300, 10 * 60_000), blob('d', 400, 0)];

  it('removes what nothing links to and was last put in or reused before the cut-off; keeps the rest', () => {
    const plan = planStoreGc(blobs, new Set([hex('a'), hex('d')]), NOW - HOUR);
    expect(plan.remove.map((b) => b.sha256)).toEqual([hex('b')]);
    expect(plan.keep.map((b) => b.sha256)).toEqual([hex('a'), hex('c'), hex('d')]);
    expect(plan.keptAsRecent).toBe(1);
  });

  it('keeps a linked blob however old, and with a cut-off of now removes every unlinked one', () => {
    const plan = planStoreGc(blobs, new Set([hex('a')]), NOW);
    expect(plan.remove.map((b) => b.sha256)).toEqual([hex('b'), hex('c'), hex('d')]);
    expect(plan.keep.map((b) => b.sha256)).toEqual([hex('a')]);
    expect(plan.keptAsRecent).toBe(0);
  });

  it('keeps everything when nothing is old enough, and has nothing to do for an empty store', () => {
    expect(planStoreGc(blobs, new Set(), NOW - 24 * HOUR).remove).toEqual([]);
    expect(planStoreGc([], new Set([hex('a')]), NOW)).toEqual({ remove: [], keep: [], keptAsRecent: 0 });
  });

  it('sums the bytes of each side in the summary line', () => {
    const removed = [blob('a', 3 * 1024 ** 3, 0), blob('b', 1024 ** 3, 0)];
    const kept = [blob('c', 1024 ** 2, 0)];
    expect(storeGcSummary({ removed, kept }, '/s', false)).toBe('pharos: store-gc: removed 2 blobs (4.0 GiB), kept 1 (1.0 MiB) in /s');
    expect(storeGcSummary({ removed: kept, kept: [] }, '/s', true)).toBe('pharos: store-gc: would remove 1 blob (1.0 MiB), keep 0 (0 B) in /s');
  });
});

describe('--keep-newer', () => {
  it('reads days, hours, minutes, seconds and their combinations, and 0', () => {
    expect(parseKeepNewer('1h')).toBe(HOUR);
    expect(parseKeepNewer('30m')).toBe(30 * 60_000);
    expect(parseKeepNewer('90s')).toBe(90_000);
    expect(parseKeepNewer('2d')).toBe(48 * HOUR);
    expect(parseKeepNewer('1d12h')).toBe(36 * HOUR);
    expect(parseKeepNewer(' 1h30m ')).toBe(1.5 * HOUR);
    expect(parseKeepNewer('0')).toBe(0);
    expect(parseKeepNewer('0h')).toBe(0);
  });

  it('refuses anything else with what to write instead', async () => {
    for (const bad of ['', '1', '-1h', '1.5h', 'h', '1w', '1h 30m', 'd', '1d-1h', 'soon']) {
      const err = await failureOf(() => parseKeepNewer(bad));
      expect(err.message, bad).toBe(`--keep-newer "${bad}" is not an age`);
      expect(err.details.next).toMatch(/30m, 1h, 2d/);
    }
  });

  it('is written back as a person would write it', () => {
    expect([HOUR, 30 * 60_000, 48 * HOUR, 36 * HOUR, 0].map(formatAge)).toEqual(['1h', '30m', '2d', '36h', '0']);
  });
});

describe('pharos store-gc arguments', () => {
  it('defaults to removing, with a cut-off of one hour', () => {
    expect(parseStoreGcArgs([])).toEqual({ dryRun: false, keepNewerMs: DEFAULT_KEEP_NEWER_MS });
    expect(DEFAULT_KEEP_NEWER_MS).toBe(HOUR);
  });

  it('takes --dry-run and --keep-newer in either form; --help asks for the usage', () => {
    expect(parseStoreGcArgs(['--dry-run', '--keep-newer', '2d'])).toEqual({ dryRun: true, keepNewerMs: 48 * HOUR });
    expect(parseStoreGcArgs(['--keep-newer=0', '-n'])).toEqual({ dryRun: true, keepNewerMs: 0 });
    expect(parseStoreGcArgs(['--dry-run', '--help'])).toBeUndefined();
  });

  it('refuses unknown options, arguments and a missing age, with the usage', async () => {
    for (const argv of [['--force'], ['/some/store'], ['--keep-newer']]) {
      const err = await failureOf(() => parseStoreGcArgs(argv));
      expect(err.details.step).toBe('pharos store-gc');
      expect(err.details.next).toMatch(/^usage: pharos store-gc/);
    }
    expect((await failureOf(() => parseStoreGcArgs(['--keep-newer', 'x']))).message).toBe('--keep-newer "x" is not an age');
  });
});

it("keeps a workspace's record under its id, which follows from its root", () => {
  expect(registrationPath('/s', '/home/ann/ws')).toBe(`/s/workspaces/${workspaceId('/home/ann/ws')}`);
  expect(workspaceId('/home/ann/ws')).toMatch(/^[0-9a-f]{12}$/);
});
