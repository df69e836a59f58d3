import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dockerAuthConfig, registryAnswers, startLoopbackRegistry, userInAuthConfig, type RegistryUser, type RunningRegistry } from '../../tools/registry';
import { PharosError } from '../../utils/errors';
import { LOOPBACK_READ_PORT, LOOPBACK_WRITE_PORT, READ_AUTH_FILE, registryConfigDir, WRITE_AUTH_FILE } from './settings';

/**
 * The loopback team store host setup starts (`pharos registry-start`): two docker-registry instances over one storage
 * folder, a read-only door (everyone's default, PHAROS_REGISTRY unset) and a read-write door (CI: PHAROS_REGISTRY at it,
 * PHAROS_REGISTRY_AUTH_FILE at the write credentials, PHAROS_REGISTRY_PUSH=1). Distribution's htpasswd auth cannot
 * grant a user less than everything, so the read-only user is simply unknown to the read-write door, and the read-only
 * door refuses every write whoever asks. Credentials are written once, 0600, in Docker's config.json format.
 */

export const READ_USER = 'pharos-read';
export const WRITE_USER = 'pharos-write';

export interface LoopbackPaths {
  /** The registry's storage (blobs and manifests). */
  storage: string;
  /** Each instance's config, htpasswd, pid file and log. */
  runDir: string;
  /** The credentials files (auth.json, auth-write.json). */
  credentialsDir: string;
  readPort: number;
  writePort: number;
}

export function defaultLoopbackPaths(home = homedir()): LoopbackPaths {
  const cache = join(home, '.cache', 'pharos');
  return {
    storage: join(cache, 'registry'),
    runDir: join(cache, 'registry-server'),
    credentialsDir: registryConfigDir(home),
    readPort: LOOPBACK_READ_PORT,
    writePort: LOOPBACK_WRITE_PORT,
  };
}

/**
 * The user in credentials file `file` (for `addresses[0]`), writing the file first with a new random password when it
 * does not exist. Never replaces one: every client configured with it would lose the store at once.
 */
function ensureCredentials(file: string, name: string, addresses: string[]): { user: RegistryUser; wrote: boolean } {
  const fresh: RegistryUser = { name, password: randomBytes(32).toString('base64url') };
  let wrote = true;
  try {
    writeFileSync(file, dockerAuthConfig(addresses, fresh), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    wrote = false;
  }
  const user = wrote ? fresh : userInAuthConfig(readFileSync(file, 'utf8'), addresses[0]);
  if (!user) {
    throw new PharosError(`${file} holds no credentials for ${addresses[0]}`, { step: 'registry-start', next: `remove it; registry-start writes a new one` });
  }
  return { user, wrote };
}

/**
 * Starts whichever door does not answer yet, after writing the credentials files where missing; returns what it did,
 * one line each (never a password), and the instances it started.
 */
export async function startLoopbackTeamStore(paths: LoopbackPaths): Promise<{ lines: string[]; started: RunningRegistry[] }> {
  const read = `127.0.0.1:${paths.readPort}`;
  const write = `127.0.0.1:${paths.writePort}`;
  mkdirSync(paths.credentialsDir, { recursive: true, mode: 0o700 });
  const readFile = join(paths.credentialsDir, READ_AUTH_FILE);
  const writeFile = join(paths.credentialsDir, WRITE_AUTH_FILE);
  // Both files name both doors: the read-only user is then refused by the write door (401), not merely unannounced.
  const reader = ensureCredentials(readFile, READ_USER, [read, write]);
  const writer = ensureCredentials(writeFile, WRITE_USER, [write, read]);
  const lines = [reader, writer].map((c, i) => `${c.wrote ? 'wrote new credentials into' : 'kept'} ${[readFile, writeFile][i]}`);
  const doors = [
    { name: 'read', address: read, port: paths.readPort, users: [reader.user, writer.user], readOnly: true, what: 'read-only door' },
    { name: 'write', address: write, port: paths.writePort, users: [writer.user], readOnly: false, what: 'read-write door (CI)' },
  ];
  const started: RunningRegistry[] = [];
  for (const d of doors) {
    if (await registryAnswers(d.address)) {
      lines.push(`team store ${d.what} answers at ${d.address}`);
      continue;
    }
    const running = await startLoopbackRegistry({
      storage: paths.storage,
      configDir: paths.runDir,
      name: d.name,
      port: d.port,
      users: d.users,
      readOnly: d.readOnly,
    });
    started.push(running);
    lines.push(`started the team store ${d.what} at ${d.address} (storage: ${paths.storage}; log: ${running.log})`);
  }
  return { lines, started };
}

export const REGISTRY_START_USAGE = `usage: pharos registry-start [--storage <dir>] [--run-dir <dir>] [--credentials-dir <dir>] [--read-port ${LOOPBACK_READ_PORT}] [--write-port ${LOOPBACK_WRITE_PORT}]

Starts the loopback team store (Debian's docker-registry) unless it answers: a read-only door on 127.0.0.1:${LOOPBACK_READ_PORT},
which PHAROS_REGISTRY defaults to, and a read-write door on 127.0.0.1:${LOOPBACK_WRITE_PORT} for CI, over one storage folder
(default ~/.cache/pharos/registry). Writes the credentials files auth.json (read-only) and auth-write.json (read-write),
mode 0600, into ~/.config/pharos/registry where missing. npm run setup runs it. See docs/store.md#the-team-store.`;

/** `pharos registry-start`; returns the exit code. */
export async function registryStartCli(argv: string[], io: { stdout: { write(text: string): unknown } } = { stdout: process.stdout }): Promise<number> {
  const names = ['storage', 'run-dir', 'credentials-dir', 'read-port', 'write-port'];
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: { ...Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    throw new PharosError((err as Error).message, { step: 'registry-start', next: REGISTRY_START_USAGE });
  }
  if (values.help) return (void io.stdout.write(`${REGISTRY_START_USAGE}\n`), 0);
  const d = defaultLoopbackPaths();
  const port = (name: string, fallback: number) => {
    const text = values[name];
    if (typeof text !== 'string') return fallback;
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535)
      throw new PharosError(`--${name} ${text} is not a port number`, { step: 'registry-start' });
    return Number(text);
  };
  const dir = (name: string, fallback: string) => (typeof values[name] === 'string' ? resolve(values[name] as string) : fallback);
  const paths = {
    storage: dir('storage', d.storage),
    runDir: dir('run-dir', d.runDir),
    credentialsDir: dir('credentials-dir', d.credentialsDir),
    readPort: port('read-port', d.readPort),
    writePort: port('write-port', d.writePort),
  };
  for (const line of (await startLoopbackTeamStore(paths)).lines) io.stdout.write(`${line}\n`);
  return 0;
}
