import { execa } from 'execa';
import { mkdtempSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { holdFlock, holdSharedFlocks, probeFlock, type HeldFlock } from './flock';

/** The real flock(1) of util-linux on real files: what `pharos exec` holds and what an overlay update probes. */
const dir = mkdtempSync(join(tmpdir(), 'pharos-flock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text = name): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function eventually(probe: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(50);
  }
  return false;
}

describe('flock(1)', () => {
  it('finishes a release before the process ends, though the holder keeps nothing else running', async () => {
    // pharos exec released its locks last: the process ended inside that wait, with exit code 0 instead of the command's.
    const held = file('last.sqf');
    const program = `require(${JSON.stringify(join(__dirname, 'flock.ts'))}).holdFlock(${JSON.stringify(held)}, 'shared')
      .then((h) => h.release()).then(() => { process.exitCode = 7; });`;
    const r = await execa('node', ['-r', '@swc-node/register', '-e', program], { reject: false, cwd: resolve(__dirname, '../../../..') });
    expect(r.exitCode, r.stderr).toBe(7);
  });

  it('sees shared locks, which coexist, as held until every one is released', async () => {
    const a = file('a.sqf');
    const b = file('b.sqf');
    expect(await probeFlock(a)).toBe('free');
    const release = await holdSharedFlocks([a, b]);
    const another = await holdSharedFlocks([a]);
    expect([await probeFlock(a), await probeFlock(b)]).toEqual(['held', 'held']);
    await release();
    expect([await probeFlock(a), await probeFlock(b)]).toEqual(['held', 'free']);
    await another();
    expect(await probeFlock(a)).toBe('free');
  });

  it('answers busy to a non-blocking exclusive lock while a shared one is held, and never creates a missing file', async () => {
    const a = file('busy.sqf');
    const release = await holdSharedFlocks([a]);
    expect(await holdFlock(a, 'exclusive', { wait: false })).toBe('busy');
    await release();
    const held = (await holdFlock(a, 'exclusive', { wait: false })) as HeldFlock;
    expect(held.mode).toBe('exclusive');
    await held.release();

    const missing = join(dir, 'missing.sqf');
    expect(await probeFlock(missing)).toBe('absent');
    await expect(holdSharedFlocks([a, missing])).rejects.toThrow(`cannot lock ${missing}: there is no such file`);
    expect(existsSync(missing)).toBe(false);
    expect(await probeFlock(a)).toBe('free'); // the one taken before the failure is released
  });

  it('makes a shared holder wait for an exclusive one, and then hold the file at the path, not one renamed away', async () => {
    const target = file('renamed.sqf', 'old');
    const exclusive = (await holdFlock(target, 'exclusive', { wait: false })) as HeldFlock;
    let waited = '';
    const shared = holdSharedFlocks([target], (f) => (waited = f));
    await sleep(2300);
    expect(waited).toBe(target); // told that it waits, and for what
    // An update renames its new file over the old one while it holds the old one exclusively.
    renameSync(file('renamed.sqf.new', 'new'), target);
    await exclusive.release();
    const release = await shared;
    expect(await probeFlock(target)).toBe('held'); // the new file is the one protected
    await release();
    expect(await probeFlock(target)).toBe('free');
  });

  it('ends the lock with its process, even on kill -9', async () => {
    const a = file('killed.sqf');
    const script = `
      const { holdSharedFlocks } = require(${JSON.stringify(resolve(__dirname, 'flock.ts'))});
      holdSharedFlocks([${JSON.stringify(a)}]).then(() => { console.log('ready'); setInterval(() => undefined, 1000); });`;
    const child = execa('node', ['-r', '@swc-node/register', '-e', script], { reject: false, cwd: resolve(__dirname, '../../../..') });
    await new Promise<void>((ready) => child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ready()));
    expect(await probeFlock(a)).toBe('held');
    child.kill('SIGKILL');
    await child;
    expect(await eventually(async () => (await probeFlock(a)) === 'free')).toBe(true);
  });
});
