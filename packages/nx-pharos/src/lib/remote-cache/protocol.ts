import { roleOf, type CacheTokens, type Role } from './tokens';

/**
 * Nx's self-hosted remote cache API (Nx ≥ 20.8; https://nx.dev/docs/kb/self-hosted-caching), as a
 * pure decision on a request's line and headers: what to answer at once, or which entry to read or write.
 *
 *   PUT /v1/cache/{hash}  body: the task's tar archive; 200 stored, 401 no or wrong token, 403 read-only token,
 *                         409 the hash exists (entries are never replaced)
 *   GET /v1/cache/{hash}  200 application/octet-stream, 401/403, 404 no such entry
 *
 * Beyond the spec: 413 for an entry over the size limit, 400 for a hash that is not one (no path can be named), and
 * GET /health (no token) for host setup to see the server answer.
 */

export const CACHE_PATH = '/v1/cache/';
export const HEALTH_PATH = '/health';

/** Nx's task hashes are decimal digits; letters are allowed too, but nothing that could name another path. */
const HASH = /^[A-Za-z0-9]{1,128}$/;

export function isValidHash(hash: string): boolean {
  return HASH.test(hash);
}

export interface CacheRequest {
  method: string;
  url: string;
  authorization?: string;
  contentLength?: string;
}

export interface Answer {
  status: number;
  text: string;
  headers?: Record<string, string>;
}

export type Route =
  { kind: 'answer'; answer: Answer; role?: Role } | { kind: 'get'; hash: string; role: Role } | { kind: 'put'; hash: string; role: Role; length?: number };

/** The path of a request target, without its query: the only part of the URL the server reads or logs. */
export function requestPath(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function routeRequest(req: CacheRequest, tokens: CacheTokens, maxEntryBytes: number): Route {
  const path = requestPath(req.url);
  const answer = (status: number, text: string, role?: Role, headers?: Record<string, string>): Route => ({
    kind: 'answer',
    answer: { status, text, ...(headers ? { headers } : {}) },
    ...(role ? { role } : {}),
  });
  if (path === HEALTH_PATH && req.method === 'GET') return answer(200, 'ok');
  if (!path.startsWith(CACHE_PATH)) return answer(404, `no such path; the cache is at ${CACHE_PATH}<hash>`);
  if (req.method !== 'GET' && req.method !== 'PUT') return answer(405, `${req.method} is not allowed; use GET or PUT`, undefined, { allow: 'GET, PUT' });
  const role = roleOf(req.authorization, tokens);
  if (!role) return answer(401, 'missing or invalid token: set NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN to the read-only or read-write token');
  const hash = path.slice(CACHE_PATH.length);
  if (!isValidHash(hash)) return answer(400, 'invalid hash: letters and digits only', role);
  if (req.method === 'GET') return { kind: 'get', hash, role };
  if (role !== 'write') return answer(403, 'this token is read-only: only the read-write token (CI) may add entries', role);
  if (req.contentLength === undefined) return { kind: 'put', hash, role };
  if (!/^\d+$/.test(req.contentLength)) return answer(400, 'invalid Content-Length', role);
  const length = Number(req.contentLength);
  if (length > maxEntryBytes) return answer(413, tooLarge(maxEntryBytes), role);
  return { kind: 'put', hash, role, length };
}

export function tooLarge(maxEntryBytes: number): string {
  return `the entry is larger than this server's limit of ${maxEntryBytes} bytes (cache-server --max-entry-size)`;
}

export interface AccessRecord {
  time: Date;
  remote: string;
  method: string;
  url: string;
  /** Undefined when the client went away before an answer. */
  status?: number;
  bytes: number;
  ms: number;
  role?: Role;
}

/**
 * One line per request: time, client, method, path, status, body bytes, duration, and the role the token granted. It
 * never holds a header or the query, so never a token sent as one; any path but the API's (an entry's, /health) shows
 * as `(another path)`, so neither a token a client put in the path nor a forged log line can get in.
 */
export function accessLogLine(r: AccessRecord): string {
  const path = requestPath(r.url);
  const known = path === HEALTH_PATH || (path.startsWith(CACHE_PATH) && isValidHash(path.slice(CACHE_PATH.length)));
  const method = /^[A-Z]{1,10}$/.test(r.method) ? r.method : '(another method)';
  return `${r.time.toISOString()} ${r.remote} ${method} ${known ? path : '(another path)'} ${r.status ?? 'aborted'} ${r.bytes} ${r.ms}ms ${r.role ?? '-'}`;
}
