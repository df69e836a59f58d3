import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PharosError } from '../utils/errors';
import { pidIsAlive } from '../utils/pid';
import { parseArgs } from 'node:util';
import { APT_CACHE_PORT, APT_PROXY_ENV, bridgeGateway, engineIsLocal, tcpAnswers } from './apt-cache';
import { dockerClient, dockerEndpoint } from './docker';

/**
 * Debian's apt-cacher-ng as the apt cache host setup starts (docs/apt-cache.md): one instance of the invoking user,
 * like the Nx cache server and the team store, its config, cache and logs under ~/.cache/pharos/apt-cacher-ng. It reads
 * only the config written here, not the package's (/etc/apt-cacher-ng): that one remaps every Debian mirror onto the
 * backends the package guessed from the host's sources (none on a host with deb822 sources only, where a request for
 * any other mirror's /debian/ then fails with "503 Host not found"), and a remap could serve a container another mirror's
 * files than the ones it asked for. Here a file is fetched from, and cached under, the URL the client asked for.
 */

export const APT_CACHER_BINARY = '/usr/sbin/apt-cacher-ng';
/** The highest port apt-cacher-ng 3.7 binds. */
export const MAX_PORT = 32767;
/** The package's own pages and templates (the report page). */
const SUPPORT_DIR = '/usr/lib/apt-cacher-ng';

/** A site's own settings (its mirror, an upstream proxy, offline mode), read after Pharos' own; see docs/apt-cache.md. */
export const APT_CACHER_SITE_CONFIG = join(homedir(), '.config', 'pharos', 'apt-cacher-ng.conf');

export interface AptCacherPaths {
  dir: string;
  conf: string;
  cache: string;
  log: string;
  pidFile: string;
  socket: string;
}

export function aptCacherPaths(dir = join(homedir(), '.cache', 'pharos', 'apt-cacher-ng')): AptCacherPaths {
  return {
    dir,
    conf: join(dir, 'conf'),
    cache: join(dir, 'cache'),
    log: join(dir, 'log'),
    pidFile: join(dir, 'apt-cacher-ng.pid'),
    socket: join(dir, 'socket'),
  };
}

export interface AptCacherConfig {
  /** The addresses it listens on: loopback, and the Docker bridge's gateway where containers reach this host. */
  bind: string[];
  port: number;
  paths: AptCacherPaths;
  /** A file of acng.conf lines the site adds (default APT_CACHER_SITE_CONFIG, when it exists). */
  siteConfig?: string;
}

/** acng.conf: no Remap, no proxy of its own, nothing but these addresses; every line logged as it happens. */
export function aptCacherConfig(c: AptCacherConfig): string {
  return [
    '# Written by Pharos (pharos apt-cache-start) before every start: edits here are lost. See docs/apt-cache.md.',
    `CacheDir: ${c.paths.cache}`,
    `LogDir: ${c.paths.log}`,
    `SupportDir: ${SUPPORT_DIR}`,
    `SocketPath: ${c.paths.socket}`,
    `BindAddress: ${c.bind.join(' ')}`,
    `Port: ${c.port}`,
    'ReportPage: acng-report.html',
    // Each transfer is in apt-cacher.log when it ends, not when the client disconnects: the bench and the spec read it.
    'UnbufferLogs: 1',
    '',
  ].join('\n');
}

/** The argv the daemon runs with: in the foreground of its own process group, so its pid is the one recorded. */
export function aptCacherArgv(paths: AptCacherPaths): string[] {
  return ['-c', paths.conf, 'ForeGround=1'];
}

export interface AptCacherTransfer {
  /** `I`: bytes from upstream into the cache, `O`: bytes served to a client, `E`: an error. */
  kind: string;
  bytes: number;
  client: string;
  path: string;
}

/** apt-cacher.log: `time|kind|bytes|client|path` per line. */
export function parseAptCacherLog(text: string): AptCacherTransfer[] {
  return text
    .split('\n')
    .map((line) => /^\d+\|([A-Z])\|(\d+)\|([^|]*)\|(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ kind: m[1], bytes: Number(m[2]), client: m[3], path: m[4] }));
}

/** Bytes fetched from upstream, and served to clients; what was served but not fetched came from the cache. */
export function transferTotals(transfers: AptCacherTransfer[]): { fetched: number; served: number } {
  const sum = (kind: string) => transfers.filter((t) => t.kind === kind).reduce((n, t) => n + t.bytes, 0);
  return { fetched: sum('I'), served: sum('O') };
}

const listOf = (addresses: string[], port: number) => addresses.map((a) => `${a}:${port}`).join(' and ');

/** Running, not just a zombie: a daemon whose starter has exited may be left unreaped where pid 1 reaps nothing. */
function runs(pid: number): boolean {
  if (!pidIsAlive(pid)) return false;
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z /.test(stat);
}

function ourDaemon(pidFile: string): number | undefined {
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
  if (!Number.isInteger(pid) || pid <= 0 || !runs(pid)) return undefined;
  // A pid the system gave to another program since is not ours to stop.
  const comm = existsSync(`/proc/${pid}/comm`) ? readFileSync(`/proc/${pid}/comm`, 'utf8').trim() : '';
  return comm === 'apt-cacher-ng' ? pid : undefined;
}

async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await check()) return true;
  return check();
}

/**
 * Starts the apt cache unless it answers on every address: a daemon of ours that listens on fewer (it started before
 * the Docker bridge existed) is restarted; anything else on the port is left alone and named.
 */
export async function startAptCacher(c: AptCacherConfig): Promise<{ lines: string[] }> {
  const step = 'apt-cache-start';
  if (!existsSync(APT_CACHER_BINARY))
    throw new PharosError('apt-cacher-ng is not installed', { step, next: 'npm run setup installs it (apt-get install apt-cacher-ng)' });
  const answering = async () => Promise.all(c.bind.map((host) => tcpAnswers(host, c.port, 500)));
  const before = await answering();
  const where = listOf(c.bind, c.port);
  if (before.every(Boolean)) return { lines: [`apt cache answers at ${where}`] };
  const running = ourDaemon(c.paths.pidFile);
  if (running) {
    process.kill(running, 'SIGTERM');
    if (!(await until(() => !runs(running), 10_000))) throw new PharosError(`the apt cache (pid ${running}) did not stop within 10 s`, { step });
  } else if (before.some(Boolean)) {
    const taken = c.bind.filter((_, i) => before[i]);
    throw new PharosError(
      `another program listens on ${listOf(taken, c.port)}, and not on ${listOf(
        c.bind.filter((_, i) => !before[i]),
        c.port,
      )}`,
      {
        step,
        next: `stop it (the apt-cacher-ng package's own service: systemctl disable --now apt-cacher-ng, or /etc/init.d/apt-cacher-ng stop), then run npm run setup again; or point ${APT_PROXY_ENV} at it`,
      },
    );
  }
  for (const dir of [c.paths.conf, c.paths.cache, c.paths.log]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(c.paths.conf, 'acng.conf'), aptCacherConfig(c));
  // apt-cacher-ng reads every *.conf of its folder in name order: the site's after ours, so its settings win.
  const site = c.siteConfig ?? APT_CACHER_SITE_CONFIG;
  rmSync(join(c.paths.conf, 'site.conf'), { force: true });
  if (existsSync(site)) symlinkSync(resolve(site), join(c.paths.conf, 'site.conf'));
  const out = openSync(join(c.paths.log, 'daemon.out'), 'a');
  const daemon = spawn(APT_CACHER_BINARY, aptCacherArgv(c.paths), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  writeFileSync(c.paths.pidFile, `${daemon.pid}\n`);
  daemon.unref();
  if (!(await until(async () => (await answering()).every(Boolean), 10_000))) {
    const logs = ['daemon.out', 'apt-cacher.err'].map((f) => join(c.paths.log, f)).filter(existsSync);
    throw new PharosError(`apt-cacher-ng did not answer at ${where} within 10 s`, {
      step,
      tail: logs.flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).slice(-5)),
      next: `read ${logs.join(' and ')}; a port another program holds is the usual cause`,
    });
  }
  return { lines: [`started the apt cache (apt-cacher-ng) at ${where} (cache: ${c.paths.cache}; log: ${join(c.paths.log, 'apt-cacher.log')})`] };
}

export const APT_CACHE_START_USAGE = `usage: pharos apt-cache-start [--dir <dir>] [--port ${APT_CACHE_PORT}] [--bind <address>]…

Starts the apt cache (Debian's apt-cacher-ng) unless it answers: on 127.0.0.1 and, when a Docker engine runs on this
host, on its default bridge's gateway (where containers reach the host), port ${APT_CACHE_PORT}; --bind replaces that list.
Its config, cache and logs are in --dir (default ~/.cache/pharos/apt-cacher-ng). npm run setup runs it. See
docs/apt-cache.md.`;

/** 127.0.0.1, and the gateway of a local engine's default bridge when one answers. */
async function defaultBindAddresses(): Promise<string[]> {
  const endpoint = dockerEndpoint();
  if (!engineIsLocal(endpoint)) return ['127.0.0.1'];
  const gateway = await dockerClient()
    .getNetwork('bridge')
    .inspect()
    .then(bridgeGateway, () => undefined);
  return gateway ? ['127.0.0.1', gateway] : ['127.0.0.1'];
}

/** `pharos apt-cache-start`; returns the exit code. */
export async function aptCacheStartCli(argv: string[], io: { stdout: { write(text: string): unknown } } = { stdout: process.stdout }): Promise<number> {
  let values: { dir?: string; port?: string; bind?: string[]; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: { dir: { type: 'string' }, port: { type: 'string' }, bind: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    throw new PharosError((err as Error).message, { step: 'apt-cache-start', next: APT_CACHE_START_USAGE });
  }
  if (values.help) return (void io.stdout.write(`${APT_CACHE_START_USAGE}\n`), 0);
  const port = values.port === undefined ? APT_CACHE_PORT : Number(values.port);
  // Measured with 3.7.4: from 32768 on it fails with "Error resolving address for binding".
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT)
    throw new PharosError(`--port ${values.port} is not a port apt-cacher-ng can listen on (1 to ${MAX_PORT})`, { step: 'apt-cache-start' });
  const bind = values.bind?.length ? values.bind : await defaultBindAddresses();
  for (const line of (await startAptCacher({ bind, port, paths: aptCacherPaths(values.dir && resolve(values.dir)) })).lines) io.stdout.write(`${line}\n`);
  return 0;
}
