import { describe, expect, it } from 'vitest';
import { accessLogLine, isValidHash, routeRequest, type CacheRequest } from './protocol';

const tokens = { read: 'read-token-0123456789', write: 'write-token-0123456789' };
const MAX = 1000;
const as = (token: string) => `Bearer ${token}`;
const route = (req: Partial<CacheRequest>) => routeRequest({ method: 'GET', url: '/v1/cache/123', ...req }, tokens, MAX);
const status = (req: Partial<CacheRequest>) => {
  const r = route(req);
  return r.kind === 'answer' ? r.answer.status : r.kind;
};

describe("the shared cache's routes", () => {
  it('reads an entry with either token, and writes one with the read-write token only', () => {
    expect(route({ authorization: as(tokens.read) })).toEqual({ kind: 'get', hash: '123', role: 'read' });
    expect(route({ authorization: as(tokens.write) })).toEqual({ kind: 'get', hash: '123', role: 'write' });
    expect(route({ method: 'PUT', authorization: as(tokens.write), contentLength: '10' })).toEqual({ kind: 'put', hash: '123', role: 'write', length: 10 });
    expect(route({ method: 'PUT', authorization: as(tokens.write) })).toEqual({ kind: 'put', hash: '123', role: 'write' });
    expect(status({ method: 'PUT', authorization: as(tokens.read), contentLength: '10' })).toBe(403);
  });

  it('answers 401 without a valid token, before anything about the entry', () => {
    expect(status({})).toBe(401);
    expect(status({ authorization: 'Bearer nope-nope-nope-nope' })).toBe(401);
    expect(status({ method: 'PUT', url: '/v1/cache/../x', authorization: 'Basic abc' })).toBe(401);
  });

  it('refuses a hash that is not letters and digits, so no path outside the folder can be named', () => {
    for (const url of ['/v1/cache/..%2Fx', '/v1/cache/../x', '/v1/cache/a/b', '/v1/cache/.tmp', '/v1/cache/', `/v1/cache/${'1'.repeat(129)}`])
      expect(status({ url, method: 'PUT', authorization: as(tokens.write) }), url).toBe(400);
    expect(isValidHash('17837532229163207004')).toBe(true);
    expect(isValidHash('abcDEF123')).toBe(true);
  });

  it('answers 413 from Content-Length before reading a byte, and 400 for a Content-Length that is no number', () => {
    const put = { method: 'PUT', authorization: as(tokens.write) };
    expect(status({ ...put, contentLength: String(MAX) })).toBe('put');
    expect(status({ ...put, contentLength: String(MAX + 1) })).toBe(413);
    expect(status({ ...put, contentLength: '1e3' })).toBe(400);
  });

  it('ignores the query, serves /health without a token, and refuses other paths and methods', () => {
    expect(route({ url: '/v1/cache/123?x=1', authorization: as(tokens.read) })).toMatchObject({ kind: 'get', hash: '123' });
    expect(route({ url: '/health' })).toMatchObject({ kind: 'answer', answer: { status: 200 } });
    expect(status({ url: '/v2/cache/123', authorization: as(tokens.read) })).toBe(404);
    expect(route({ method: 'DELETE', authorization: as(tokens.write) })).toMatchObject({ answer: { status: 405, headers: { allow: 'GET, PUT' } } });
  });
});

describe('the access log', () => {
  const line = (url: string, method = 'GET') =>
    accessLogLine({ time: new Date('2026-01-02T03:04:05Z'), remote: '127.0.0.1', method, url, status: 200, bytes: 12, ms: 3, role: 'read' });

  it('is one line: time, client, method, path, status, bytes, duration, role', () => {
    expect(line('/v1/cache/123')).toBe('2026-01-02T03:04:05.000Z 127.0.0.1 GET /v1/cache/123 200 12 3ms read');
    expect(accessLogLine({ time: new Date(0), remote: '::1', method: 'PUT', url: '/v1/cache/1', bytes: 5, ms: 9 })).toBe(
      '1970-01-01T00:00:00.000Z ::1 PUT /v1/cache/1 aborted 5 9ms -',
    );
  });

  it("shows no query and no path but the API's, where a client could put a token or forge a line", () => {
    expect(line(`/v1/cache/1?token=${tokens.write}`)).toContain(' /v1/cache/1 200 ');
    expect(line(`/v1/cache/${tokens.write}`)).toContain(' (another path) 200 ');
    expect(line('/health')).toContain(' /health 200 ');
    const forged = line('/v1/cache/1\n2026-01-01T00:00:00Z 10.0.0.1 PUT /v1/cache/2 200');
    expect(forged).toContain(' (another path) ');
    expect(forged.split('\n')).toHaveLength(1);
    expect(line('/', 'GE\nT')).toContain(' (another method) (another path) ');
  });
});
