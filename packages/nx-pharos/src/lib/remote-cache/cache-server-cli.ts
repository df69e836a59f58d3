import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BYTE_SIZE_EXAMPLES, parseByteSize } from '../../utils/byte-size';
import { PharosError } from '../../utils/errors';
import { startCacheServer, type CacheServer } from './server';
import { ensureTokenFile, readCacheTokens } from './tokens';

/** `pharos cache-server` and `pharos cache-tokens`: the shared Nx cache (docs/shared-cache.md). */

export const DEFAULT_CACHE_PORT = 7420;
export const DEFAULT_CACHE_HOST = '127.0.0.1';
export const DEFAULT_MAX_ENTRY_SIZE = '512M';

export const CACHE_SERVER_USAGE = `usage: pharos cache-server --dir <dir> --read-token-file <file> --write-token-file <file>
                           [--host ${DEFAULT_CACHE_HOST}] [--port ${DEFAULT_CACHE_PORT}] [--max-entry-size ${DEFAULT_MAX_ENTRY_SIZE}]

Serves Nx's self-hosted remote cache API (PUT and GET /v1/cache/<hash>) from files in <dir>, until SIGTERM or Ctrl-C.
Clients set NX_SELF_HOSTED_REMOTE_CACHE_SERVER to the URL it prints, and NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN to
the read-write token (CI, which adds entries) or the read-only token (laptops, which only restore them). Each token
file holds one token (mode 0600); \`pharos cache-tokens\` writes both. Prints one access-log line per request.

options:
  --dir <dir>                 where the entries live, one file per task hash (created if missing)
  --read-token-file <file>    the read-only token
  --write-token-file <file>   the read-write token
  --host <address>            the address to listen on (default ${DEFAULT_CACHE_HOST}: this machine only)
  --port <n>                  the port (default ${DEFAULT_CACHE_PORT}; 0 for any free one)
  --max-entry-size <size>     refuse larger entries with 413 (default ${DEFAULT_MAX_ENTRY_SIZE}; ${BYTE_SIZE_EXAMPLES})
  -h, --help                  this text`;

export const CACHE_TOKENS_USAGE = `usage: pharos cache-tokens --read-token-file <file> --write-token-file <file>

Writes a new random token (mode 0600) into each file that does not exist yet, and keeps the ones that do: replacing a
token would lock out every client configured with it. Prints which files it wrote, never a token.`;

const STEP = 'cache-server';

export interface CacheServerArgs {
  help: boolean;
  dir: string;
  readTokenFile: string;
  writeTokenFile: string;
  host: string;
  port: number;
  maxEntryBytes: number;
}

type Values = Record<string, string | boolean | undefined>;

/** The values of `names` (each a `--name <value>` option) and --help. */
function parse(argv: string[], names: string[], verb: string): Values {
  const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new PharosError((err as Error).message, { step: verb, next: `see pharos ${verb} --help` });
  }
}

function required(values: Values, name: string, verb: string): string {
  const v = values[name];
  if (typeof v !== 'string' || !v) throw new PharosError(`--${name} is required`, { step: verb, next: `see pharos ${verb} --help` });
  return v;
}

export function parseCacheServerArgs(argv: string[]): CacheServerArgs {
  const values = parse(argv, ['dir', 'read-token-file', 'write-token-file', 'host', 'port', 'max-entry-size'], STEP);
  const base = { host: DEFAULT_CACHE_HOST, port: DEFAULT_CACHE_PORT, maxEntryBytes: parseByteSize(DEFAULT_MAX_ENTRY_SIZE) as number };
  if (values.help) return { help: true, dir: '', readTokenFile: '', writeTokenFile: '', ...base };
  const portText = String(values.port ?? DEFAULT_CACHE_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new PharosError(`--port ${portText} is not a port number`, { step: STEP, next: 'a number from 0 to 65535' });
  const size = String(values['max-entry-size'] ?? DEFAULT_MAX_ENTRY_SIZE);
  const maxEntryBytes = parseByteSize(size);
  if (maxEntryBytes === undefined) throw new PharosError(`--max-entry-size ${size} is not a size`, { step: STEP, next: BYTE_SIZE_EXAMPLES });
  return {
    help: false,
    dir: resolve(required(values, 'dir', STEP)),
    readTokenFile: required(values, 'read-token-file', STEP),
    writeTokenFile: required(values, 'write-token-file', STEP),
    host: String(values.host ?? DEFAULT_CACHE_HOST),
    port,
    maxEntryBytes,
  };
}

export interface CacheCliIo {
  stdout: { write(text: string): unknown };
  /** Resolves when the server is asked to stop (SIGTERM, SIGINT); the tests stop it themselves. */
  stopRequested?: (server: CacheServer) => Promise<unknown>;
}

function stopOnSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve(signal));
  });
}

/** Runs the server until it is asked to stop, then stops it gracefully; returns the exit code. */
export async function cacheServerCli(argv: string[], io: CacheCliIo = { stdout: process.stdout }): Promise<number> {
  const args = parseCacheServerArgs(argv);
  if (args.help) {
    io.stdout.write(`${CACHE_SERVER_USAGE}\n`);
    return 0;
  }
  const tokens = readCacheTokens(args.readTokenFile, args.writeTokenFile);
  // Listening for the signals before the server starts, so a stop sent as soon as it says it serves is not lost.
  const signal = io.stopRequested ? undefined : stopOnSignal();
  const stopped = io.stopRequested ?? (() => signal as Promise<NodeJS.Signals>);
  const log = (line: string) => io.stdout.write(`${line}\n`);
  const server = await startCacheServer({ dir: args.dir, tokens, maxEntryBytes: args.maxEntryBytes, host: args.host, port: args.port, log }).catch(
    (err: NodeJS.ErrnoException) => {
      throw new PharosError(`cannot listen on ${args.host}:${args.port}: ${err.code ?? err.message}`, {
        step: STEP,
        next: err.code === 'EADDRINUSE' ? 'another server holds the port: stop it, or pass another --port' : undefined,
      });
    },
  );
  for (const name of server.removed) log(`removed ${name}, an upload a stopped server left unfinished`);
  log(`serving ${args.dir} at ${server.url} (entries up to ${args.maxEntryBytes} bytes; pid ${process.pid})`);
  const why = await stopped(server);
  log(`stopping${typeof why === 'string' ? ` (${why})` : ''}`);
  await server.close();
  log('stopped');
  return 0;
}

export function cacheTokensCli(argv: string[], io: CacheCliIo = { stdout: process.stdout }): number {
  const values = parse(argv, ['read-token-file', 'write-token-file'], 'cache-tokens');
  if (values.help) {
    io.stdout.write(`${CACHE_TOKENS_USAGE}\n`);
    return 0;
  }
  for (const name of ['read-token-file', 'write-token-file']) {
    const file = required(values, name, 'cache-tokens');
    io.stdout.write(`${ensureTokenFile(file) ? 'wrote a new token into' : 'kept'} ${file}\n`);
  }
  return 0;
}
