import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCacheServer, type CacheServer } from './server';

/** Real HTTP on an ephemeral loopback port, entries in a temporary folder. */

const tokens = { read: 'read-token-0123456789abcdef', write: 'write-token-0123456789abcdef' };
const MAX = 64 * 1024;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Send {
  method?: 'GET' | 'PUT' | 'DELETE';
  token?: string;
  headers?: Record<string, string>;
  /** Sent whole, with a Content-Length. */
  body?: Buffer;
  /**
   * Sent chunked (no Content-Length), a chunk every 10 ms until the answer comes or `chunks` runs out; then ends,
   * unless `hangUp`, which destroys the connection instead (a client that went away mid-upload).
   */
  chunks?: Buffer[];
  hangUp?: boolean;
}

function send(server: CacheServer, path: string, s: Send = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...s.headers };
    if (s.token) headers.authorization = `Bearer ${s.token}`;
    if (s.body) headers['content-length'] = String(s.body.length);
    // By host, port and path, not by URL, which would resolve the ../ of the path traversal tests away.
    const { hostname, port } = new URL(server.url);
    const req = request({ hostname, port, path, method: s.method ?? 'GET', headers, agent: false }, (res) => {
      const body: Buffer[] = [];
      res.on('data', (c: Buffer) => body.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(body) }));
    });
    req.on('error', reject);
    if (!s.chunks) return void req.end(s.body);
    let answered = false;
    req.once('response', () => (answered = true));
    void (async () => {
      for (const chunk of s.chunks ?? []) {
        if (answered) return;
        req.write(chunk);
        await sleep(10);
      }
      if (s.hangUp) req.destroy();
      else if (!answered) req.end();
    })();
  });
}

describe('the shared cache server', () => {
  let dir: string;
  let server: CacheServer;
  let log: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-cache-server-'));
    log = [];
    server = await startCacheServer({ dir, tokens, maxEntryBytes: MAX, host: '127.0.0.1', port: 0, log: (l) => log.push(l), graceMs: 200 });
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The entries and any temporary file: what a test leaves in the folder. */
  const files = () => readdirSync(dir).sort();
  /** Waits for the access-log line of the nth request, which is written once its connection's answer is done. */
  const logged = async (n: number) => {
    for (let i = 0; i < 200 && log.length < n; i++) await sleep(10);
    return log;
  };

  it('stores an entry with the read-write token and gives it back, byte for byte, as an octet stream', async () => {
    const body = randomBytes(50_000);
    const put = await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, body });
    expect(put.status).toBe(200);
    for (const token of [tokens.read, tokens.write]) {
      const get = await send(server, '/v1/cache/123', { token });
      expect(get.status).toBe(200);
      expect(get.headers['content-type']).toBe('application/octet-stream');
      expect(get.headers['content-length']).toBe(String(body.length));
      expect(get.body.equals(body)).toBe(true);
    }
    expect(files()).toEqual(['123']);
  });

  it('answers 409 to a second upload of a hash, and keeps the first', async () => {
    const first = Buffer.from('first');
    expect((await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, body: first })).status).toBe(200);
    const again = await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, body: Buffer.from('second') });
    expect(again.status).toBe(409);
    expect(readFileSync(join(dir, '123'), 'utf8')).toBe('first');
  });

  it('answers 401 in text/plain (Nx shows the text) without a token, with a wrong one, or with another scheme', async () => {
    const wrong: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: `Basic ${tokens.write}` }];
    for (const headers of wrong) {
      for (const method of ['GET', 'PUT'] as const) {
        const r = await send(server, '/v1/cache/123', { method, headers, body: method === 'PUT' ? Buffer.from('x') : undefined });
        expect(r.status, `${method} ${JSON.stringify(headers)}`).toBe(401);
        expect(r.headers['content-type']).toBe('text/plain');
        expect(r.body.toString()).toMatch(/NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN/);
      }
    }
    expect(files()).toEqual([]);
  });

  it('answers 403 to an upload with the read-only token, and stores nothing', async () => {
    const r = await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.read, body: Buffer.from('poison') });
    expect(r.status).toBe(403);
    expect(r.body.toString()).toMatch(/read-only/);
    expect(files()).toEqual([]);
  });

  it('answers 404 for an entry it does not hold', async () => {
    expect((await send(server, '/v1/cache/999', { token: tokens.read })).status).toBe(404);
  });

  it('answers 413 to an entry over the limit by its Content-Length, before reading it', async () => {
    const r = await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, body: Buffer.alloc(MAX + 1) });
    expect(r.status).toBe(413);
    expect(r.body.toString()).toMatch(/limit of 65536 bytes/);
    const exact = await send(server, '/v1/cache/124', { method: 'PUT', token: tokens.write, body: Buffer.alloc(MAX) });
    expect(exact.status).toBe(200);
    expect(files()).toEqual(['124']);
  });

  it('answers 413 to a chunked upload once it passes the limit, and leaves no entry and no temporary file', async () => {
    const chunks = Array.from({ length: 40 }, () => randomBytes(4096)); // 160 KiB, the limit is 64
    const r = await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, chunks });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    await logged(1);
    expect(files()).toEqual([]);
    // The server still serves: the refused upload's connection was closed, not the server.
    expect((await send(server, '/v1/cache/124', { method: 'PUT', token: tokens.write, chunks: [Buffer.from('small')] })).status).toBe(200);
  });

  it('refuses hashes that could name a path outside its folder', async () => {
    for (const path of ['/v1/cache/..%2F..%2Fescaped', '/v1/cache/../../escaped', '/v1/cache/a/b', '/v1/cache/.hidden', '/v1/cache/%2e%2e']) {
      const r = await send(server, path, { method: 'PUT', token: tokens.write, body: Buffer.from('x') });
      expect(r.status, path).toBe(400);
    }
    expect(files()).toEqual([]);
    expect(readdirSync(join(dir, '..'))).not.toContain('escaped');
  });

  it('of concurrent uploads of one hash, exactly one is stored, whole; the others get 409', async () => {
    const bodies = Array.from({ length: 5 }, () => Array.from({ length: 8 }, () => randomBytes(4096)));
    const replies = await Promise.all(bodies.map((chunks) => send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, chunks })));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(4);
    const stored = readFileSync(join(dir, '123'));
    expect(stored.equals(Buffer.concat(bodies[statuses.indexOf(200)]))).toBe(true);
    await logged(5);
    expect(files()).toEqual(['123']);
  });

  it('stores nothing from an upload whose client goes away, and keeps serving', async () => {
    const chunks = Array.from({ length: 3 }, () => randomBytes(1024));
    await expect(send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, chunks, hangUp: true })).rejects.toThrow();
    expect((await logged(1))[0]).toMatch(/ PUT \/v1\/cache\/123 aborted /);
    expect(files()).toEqual([]);
    expect((await send(server, '/health')).body.toString()).toBe('ok\n');
  });

  it('logs one line per request, and never a token, wherever a client puts it', async () => {
    await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, body: Buffer.from('x') });
    await send(server, '/v1/cache/123', { token: tokens.read });
    await send(server, `/v1/cache/123?token=${tokens.write}`, { token: tokens.write });
    await send(server, `/v1/cache/${tokens.read}`, { token: 'nope' });
    await send(server, '/v1/cache/123', { method: 'PUT', token: tokens.read, body: Buffer.from('x') });
    const lines = await logged(5);
    expect(lines).toHaveLength(5);
    // In the order the requests ended, which need not be the order they came in.
    const expected = [
      /^\S+Z 127\.0\.0\.1 PUT \/v1\/cache\/123 200 1 \d+ms write$/,
      / GET \/v1\/cache\/123 200 1 \d+ms read$/,
      / GET \/v1\/cache\/123 200 1 \d+ms write$/,
      / GET \(another path\) 401 0 \d+ms -$/,
      / PUT \/v1\/cache\/123 403 0 \d+ms read$/,
    ];
    for (const line of expected)
      expect(
        lines.filter((l) => line.test(l)),
        String(line),
      ).toHaveLength(1);
    for (const line of lines) {
      expect(line).not.toContain(tokens.write);
      expect(line).not.toContain(tokens.read);
    }
  });

  it('lets a running upload finish when it stops, up to its grace, then cuts it: nothing half-written stays', async () => {
    const slow = Array.from({ length: 100 }, () => randomBytes(100)); // 1 s of chunks, grace is 0.2 s
    const upload = send(server, '/v1/cache/123', { method: 'PUT', token: tokens.write, chunks: slow }).catch((e: Error) => e);
    await sleep(100);
    await server.close();
    expect(await upload).toBeInstanceOf(Error);
    expect(files()).toEqual([]);
    await expect(send(server, '/health')).rejects.toThrow(/ECONNREFUSED/);
  });
});
