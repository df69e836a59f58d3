import type { ReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openEntryStore, type EntryStore } from './entry-store';
import { accessLogLine, routeRequest, tooLarge, type Answer } from './protocol';
import type { CacheTokens, Role } from './tokens';

/**
 * The shared Nx cache's HTTP server: Node's own http module, as the API is two routes over files, and every body is
 * streamed between the socket and the disk, never held whole in memory.
 */

export interface CacheServerOptions {
  dir: string;
  tokens: CacheTokens;
  maxEntryBytes: number;
  host: string;
  /** 0 for any free port (the tests). */
  port: number;
  /** Receives one access-log line per request (protocol.ts: never a token). */
  log: (line: string) => void;
  /** How long close() lets running requests finish before it cuts their connections. */
  graceMs?: number;
}

export interface CacheServer {
  /** What NX_SELF_HOSTED_REMOTE_CACHE_SERVER is set to: `http://<host>:<port>`. */
  url: string;
  port: number;
  /** Temporary files of ended servers removed at start. */
  removed: string[];
  /** Stops accepting, lets running requests finish (graceMs), cuts what remains; an unfinished upload stores nothing. */
  close(): Promise<void>;
}

/** How long a refused upload's connection is kept reading (and discarding) so the client sees the answer, not a reset. */
const LINGER_MS = 2000;

export async function startCacheServer(o: CacheServerOptions): Promise<CacheServer> {
  const { store, removed } = await openEntryStore(o.dir);
  const running = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const work: Promise<void> = handle(req, res, store, o).finally(() => running.delete(work));
    running.add(work);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    port,
    removed,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, o.graceMs ?? 5000)));
      await Promise.race([Promise.allSettled([...running]), grace]);
      clearTimeout(timer);
      server.closeAllConnections();
      await Promise.allSettled([...running]);
      await closed;
    },
  };
}

/** Serves one request, and logs it once all its work is done (an aborted upload's temporary file removed). */
async function handle(req: IncomingMessage, res: ServerResponse, store: EntryStore, o: CacheServerOptions): Promise<void> {
  const started = Date.now();
  const remote = req.socket.remoteAddress ?? '-';
  const seen: Seen = { bytes: 0 };
  try {
    await serve(req, res, store, o, seen);
  } catch (err) {
    failed(req, res, err, o.log);
  } finally {
    o.log(
      accessLogLine({
        time: new Date(started),
        remote,
        method: req.method ?? '-',
        url: req.url ?? '',
        // Undefined (logged as aborted) when the answer was not sent whole.
        status: res.writableEnded || seen.sentWhole ? res.statusCode : undefined,
        bytes: seen.bytes,
        ms: Date.now() - started,
        role: seen.role,
      }),
    );
  }
}

/** What the access log shows of a request besides its line: the role its token granted, and the body bytes moved. */
interface Seen {
  role?: Role;
  bytes: number;
  /** Every byte of an entry went to the socket, though the client closed before the answer's end did. */
  sentWhole?: boolean;
}

async function serve(req: IncomingMessage, res: ServerResponse, store: EntryStore, o: CacheServerOptions, seen: Seen): Promise<void> {
  const route = routeRequest(
    { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, contentLength: req.headers['content-length'] },
    o.tokens,
    o.maxEntryBytes,
  );
  seen.role = route.role;
  if (route.kind === 'answer') return answer(req, res, route.answer);
  if (route.kind === 'get') {
    const entry = await store.read(route.hash);
    if (!entry) return answer(req, res, { status: 404, text: 'no such entry' });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': entry.size });
    seen.bytes = entry.size;
    seen.sentWhole = (await send(entry.stream, res)) === entry.size;
    return;
  }
  const put = await store.put(route.hash, req, o.maxEntryBytes);
  seen.bytes = put.bytes;
  if (put.outcome === 'stored') return answer(req, res, { status: 200, text: 'stored' });
  if (put.outcome === 'too-large') return answer(req, res, { status: 413, text: tooLarge(o.maxEntryBytes) });
  return answer(req, res, {
    status: 409,
    text: put.outcome === 'exists' ? 'an entry exists for this hash; entries are never replaced' : 'this hash is being uploaded',
  });
}

/**
 * Streams an entry as the body of the answer, and gives the bytes written; resolves once the file is read to its end,
 * or once the client went away (the file closed then). Not pipeline(): a client that has its Content-Length's worth
 * may close before the answer's end is flushed, and that answer was whole.
 */
function send(entry: ReadStream, res: ServerResponse): Promise<number> {
  let written = 0;
  return new Promise((resolve, reject) => {
    entry.on('data', (chunk) => (written += chunk.length));
    entry.once('error', reject);
    entry.once('end', () => resolve(written));
    res.once('close', () => {
      entry.destroy();
      resolve(written);
    });
    entry.pipe(res);
  });
}

/**
 * Sends a short text answer. When the request's body was not read to its end (an upload refused before or during its
 * body), the connection is closed after the answer; it keeps reading and discarding for LINGER_MS first, as closing a
 * socket with unread data resets it, and the client could lose the answer.
 */
function answer(req: IncomingMessage, res: ServerResponse, a: Answer): void {
  const unread = !req.complete;
  res.writeHead(a.status, {
    'content-type': 'text/plain',
    ...a.headers,
    ...(unread ? { connection: 'close' } : {}),
  });
  res.end(`${a.text}\n`);
  if (!unread) return;
  req.resume();
  const cut = setTimeout(() => req.socket.destroy(), LINGER_MS);
  cut.unref();
  req.socket.once('close', () => clearTimeout(cut));
}

function failed(req: IncomingMessage, res: ServerResponse, err: unknown, log: (line: string) => void): void {
  // A client that went away mid-transfer is no server error, and there is nobody left to answer.
  if (res.headersSent || req.socket.destroyed) {
    res.destroy();
    return;
  }
  log(`error: ${(err as Error).message}`);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') answer(req, res, { status: 507, text: 'the cache server is out of disk space' });
  else answer(req, res, { status: 500, text: 'internal error; see the cache server log' });
}
