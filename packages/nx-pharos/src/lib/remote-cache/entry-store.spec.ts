import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeTag } from '../../utils/leftovers';
import { openEntryStore } from './entry-store';

describe('the entry store', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pharos-entries-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

  it('stores an entry under its hash, reads it back, and never replaces it', async () => {
    const { store } = await openEntryStore(dir);
    expect(await store.put('123', chunks('hello ', 'world'), 100)).toEqual({ outcome: 'stored', bytes: 11 });
    expect(await store.has('123')).toBe(true);
    const entry = await store.read('123');
    expect(entry?.size).toBe(11);
    expect(await text(entry!.stream)).toBe('hello world');
    expect(await store.put('123', chunks('other'), 100)).toEqual({ outcome: 'exists', bytes: 0 });
    expect(readFileSync(join(dir, '123'), 'utf8')).toBe('hello world');
    expect(await store.read('456')).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['123']);
  });

  it('stores nothing past the size limit, and leaves the rest of the body unread', async () => {
    const { store } = await openEntryStore(dir);
    const body = new PassThrough();
    body.write(Buffer.alloc(60));
    body.write(Buffer.alloc(60));
    body.write(Buffer.alloc(60)); // never ended: the store must stop reading on its own
    expect(await store.put('123', body, 100)).toEqual({ outcome: 'too-large', bytes: 120 });
    expect(readdirSync(dir)).toEqual([]);
    expect(body.destroyed).toBe(false);
  });

  it('stores nothing when the body fails or ends early (the client went away)', async () => {
    const { store } = await openEntryStore(dir);
    const body = new PassThrough();
    body.write('half');
    setTimeout(() => body.destroy(new Error('aborted')), 20);
    await expect(store.put('123', body, 100)).rejects.toThrow('aborted');
    const closed = new PassThrough();
    closed.write('half');
    setTimeout(() => closed.destroy(), 20);
    await expect(store.put('124', closed, 100)).rejects.toThrow(/ended before its last byte|premature close/i);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('answers a second upload of a hash being uploaded at once, without touching the first', async () => {
    const { store } = await openEntryStore(dir);
    const first = new PassThrough();
    const firstPut = store.put('123', first, 100);
    first.write('first ');
    expect(await store.put('123', chunks('second'), 100)).toEqual({ outcome: 'uploading', bytes: 0 });
    first.end('upload');
    expect(await firstPut).toEqual({ outcome: 'stored', bytes: 12 });
    expect(readFileSync(join(dir, '123'), 'utf8')).toBe('first upload');
  });

  it('of two servers racing on one folder, exactly one stores the entry, whole', async () => {
    const [a, b] = [(await openEntryStore(dir)).store, (await openEntryStore(dir)).store];
    const bodies = [randomBytes(256 * 1024), randomBytes(256 * 1024)];
    const outcomes = await Promise.all([a.put('123', Readable.from([bodies[0]]), 1 << 20), b.put('123', Readable.from([bodies[1]]), 1 << 20)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['exists', 'stored']);
    const winner = outcomes.findIndex((o) => o.outcome === 'stored');
    expect(readFileSync(join(dir, '123')).equals(bodies[winner])).toBe(true);
    expect(readdirSync(dir)).toEqual(['123']);
  });

  it('removes at start the temporary files of servers that have ended, and keeps everything else', async () => {
    const tag = nodeTag();
    const dead = `.123.tmp-p999999@${tag}-abcdef`;
    const alive = `.124.tmp-p999998@${tag}-abcdef`;
    const otherNode = `.125.tmp-p999999@${tag === '0000' ? '0001' : '0000'}-abcdef`;
    for (const name of [dead, alive, otherNode, '126']) writeFileSync(join(dir, name), 'x');
    const { removed } = await openEntryStore(dir, (pid) => pid === 999998);
    expect(removed).toEqual([dead]);
    expect(readdirSync(dir).sort()).toEqual([alive, otherNode, '126'].sort());
  });
});
