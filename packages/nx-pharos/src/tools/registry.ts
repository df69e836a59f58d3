import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PharosError } from '../utils/errors';
import { pidIsAlive } from '../utils/pid';

/**
 * Debian's docker-registry (distribution 2.8) on loopback: the team store a machine gets when no site registry is set
 * (docs/store.md#the-team-store). Its config and htpasswd are written before the first start: 2.8.2 started without an
 * htpasswd file makes one with a random password and prints that password in its log. htpasswd's bcrypt lines are made
 * by Apache's `htpasswd -nBi`, which reads the password from stdin, never argv. Distribution's htpasswd auth has no
 * per-user permissions (distribution/distribution#1219: "plain htpasswd does not provide ACLs"), so a read-only door is
 * a second instance in `maintenance.readonly` mode over the same storage, which refuses every write (405).
 */

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RegistryUser {
  name: string;
  password: string;
}

export interface RegistryConfigInput {
  storage: string;
  port: number;
  htpasswd: string;
  readOnly: boolean;
  /** http.secret: signs upload state between requests. */
  secret: string;
}

/**
 * The registry's config.yml: filesystem storage that nothing deletes from (a manifest, once pushed, stays fetchable by
 * digest), listening on 127.0.0.1 only, htpasswd auth. The read-only door does no upload purging either: it writes
 * nothing.
 */
export function registryConfig(c: RegistryConfigInput): string {
  const maintenance = c.readOnly ? { maintenance: { readonly: { enabled: true }, uploadpurging: { enabled: false } } } : {};
  return stringify({
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: { filesystem: { rootdirectory: c.storage }, delete: { enabled: false }, ...maintenance },
    http: { addr: `127.0.0.1:${c.port}`, secret: c.secret },
    auth: { htpasswd: { realm: 'pharos', path: c.htpasswd } },
  });
}

/** One user's bcrypt line (`name:$2y$…`), from `htpasswd -nBi`, the password on its stdin. */
export async function htpasswdLine(user: RegistryUser): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(user.name)) throw new Error(`"${user.name}" is not a registry user name (letters, digits, . _ -)`);
  const r = await execa('htpasswd', ['-nBi', user.name], { input: user.password, reject: false });
  const line = r.stdout.trim();
  if (r.exitCode !== 0 || !line.startsWith(`${user.name}:$2`)) {
    throw new PharosError(`htpasswd could not hash the password of registry user ${user.name}: ${(r.stderr || r.message || '').trim()}`, {
      step: 'start the loopback registry',
      next: 'install apache2-utils (npm run setup does)',
    });
  }
  return line;
}

/** A Docker config.json with `user:password` for each address: what skopeo (REGISTRY_AUTH_FILE), docker and apptainer read. */
export function dockerAuthConfig(addresses: string[], user: RegistryUser): string {
  const auth = Buffer.from(`${user.name}:${user.password}`).toString('base64');
  return `${JSON.stringify({ auths: Object.fromEntries(addresses.map((a) => [a, { auth }])) }, null, 2)}\n`;
}

/** The user a Docker config.json holds for `address`; undefined when it holds none. */
export function userInAuthConfig(text: string, address: string): RegistryUser | undefined {
  let auth: unknown;
  try {
    auth = (JSON.parse(text) as { auths?: Record<string, { auth?: unknown }> }).auths?.[address]?.auth;
  } catch {
    return undefined;
  }
  if (typeof auth !== 'string') return undefined;
  const plain = Buffer.from(auth, 'base64').toString('utf8');
  const at = plain.indexOf(':');
  return at > 0 ? { name: plain.slice(0, at), password: plain.slice(at + 1) } : undefined;
}

/** Whether a registry answers at `address` over plain HTTP: `GET /v2/` gives 401 (auth on) or 200. */
export async function registryAnswers(address: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status === 401 || res.status === 200;
  } catch {
    return false;
  }
}

export interface LoopbackRegistryOptions {
  /** storage.filesystem.rootdirectory: the blobs and manifests. Two instances may share it. */
  storage: string;
  /** Where this instance's config, htpasswd, pid file and log go (`<name>.yml`, …); made 0700. */
  configDir: string;
  /** The file stem of those files, e.g. `read` or `write`. */
  name: string;
  port: number;
  users: RegistryUser[];
  readOnly?: boolean;
  /** How long to wait for it to answer; default 10 s. */
  timeoutMs?: number;
}

export interface RunningRegistry {
  address: string;
  pid: number;
  log: string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return done();
}

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (!(await waitUntil(() => !pidIsAlive(pid), 5000))) process.kill(pid, 'SIGKILL');
}

/**
 * Starts `docker-registry serve` on 127.0.0.1:`port`, detached (it outlives the caller; `stop()` or its pid file end
 * it), with a config and htpasswd written first, and waits until it answers. The environment is not passed on: the
 * registry lets any REGISTRY_* variable override its config.
 */
export async function startLoopbackRegistry(opts: LoopbackRegistryOptions): Promise<RunningRegistry> {
  const address = `127.0.0.1:${opts.port}`;
  mkdirSync(opts.configDir, { recursive: true, mode: 0o700 });
  mkdirSync(opts.storage, { recursive: true });
  const file = (ext: string) => join(opts.configDir, `${opts.name}.${ext}`);
  const lines = await Promise.all(opts.users.map(htpasswdLine));
  writeFileSync(file('htpasswd'), `${lines.join('\n')}\n`, { mode: 0o600 });
  const config = registryConfig({
    storage: opts.storage,
    port: opts.port,
    htpasswd: file('htpasswd'),
    readOnly: opts.readOnly ?? false,
    secret: randomBytes(24).toString('base64url'),
  });
  writeFileSync(file('yml'), config, { mode: 0o600 });
  const log = file('log');
  const out = openSync(log, 'a');
  const child = spawn(REGISTRY_BINARY, ['serve', file('yml')], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  closeSync(out);
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', reject);
  }).catch((err: NodeJS.ErrnoException) => {
    throw new PharosError(`cannot start ${REGISTRY_BINARY}: ${err.code ?? err.message}`, {
      step: 'start the loopback registry',
      next: 'install docker-registry (npm run setup does)',
    });
  });
  child.unref();
  writeFileSync(file('pid'), `${spawned}\n`);
  const running: RunningRegistry = { address, pid: spawned, log, stop: () => stopPid(spawned) };
  const up = await waitUntil(async () => !pidIsAlive(spawned) || (await registryAnswers(address, 500)), opts.timeoutMs ?? 10_000);
  if (!up || !pidIsAlive(spawned)) {
    await running.stop();
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-5);
    throw new PharosError(`docker-registry did not answer at ${address}`, {
      step: 'start the loopback registry',
      tail,
      next: `read ${log}; another program may hold port ${opts.port}`,
    });
  }
  return running;
}
