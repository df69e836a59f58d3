import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { onInterrupt } from '../utils/cleanup';
import { PharosError } from '../utils/errors';
import { aptProxyFor, withAptProxyEnv } from './apt-cache';

/** The one module that calls debootstrap and tar to turn the Debian archive into a root filesystem stream. */

export interface BootstrapRequest {
  suite: string;
  variant: string;
  include: string[];
  mirror: string;
  target: string;
  cacheDir: string;
  onOutput: (text: string) => void;
}

/** Asks the mirror whether the suite exists before spending a minute on debootstrap. */
export async function assertSuiteOnMirror(suite: string, mirror: string, known: string[]): Promise<void> {
  const url = `${mirror}/dists/${suite}/Release`;
  let status: number;
  try {
    status = (await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(20_000) })).status;
  } catch (err) {
    throw new PharosError(`the Debian mirror ${mirror} does not answer (${(err as Error).message})`, {
      step: 'check suite',
      next: 'check the network, or set PHAROS_DEBIAN_MIRROR to a reachable mirror',
    });
  }
  if (status === 404) {
    throw new PharosError(`unknown Debian suite "${suite}": ${url} does not exist`, {
      step: 'check suite',
      next: `use one of the suites the mirror serves (for example ${known.join(', ')})`,
    });
  }
  if (status >= 400) throw new PharosError(`${url} answered HTTP ${status}`, { step: 'check suite' });
}

export function assertDebootstrapUsable(suite: string): void {
  if (process.getuid?.() !== 0) {
    throw new PharosError('debootstrap needs root to build a base image', {
      step: 'bootstrap',
      next: 'run as root, or make the image pullable from a registry you can reach',
    });
  }
  if (!existsSync('/usr/sbin/debootstrap')) {
    throw new PharosError('debootstrap is not installed', { step: 'bootstrap', next: 'run `npm run setup` (tools/setup-host.mjs)' });
  }
  if (!existsSync(`/usr/share/debootstrap/scripts/${suite}`)) {
    throw new PharosError(`this host's debootstrap has no script for suite "${suite}"`, {
      step: 'bootstrap',
      next: 'upgrade debootstrap (a newer one from backports knows newer suites)',
    });
  }
}

export async function debootstrap(req: BootstrapRequest): Promise<void> {
  const args = [`--variant=${req.variant}`, `--cache-dir=${req.cacheDir}`];
  if (req.include.length) args.push(`--include=${req.include.join(',')}`);
  args.push(req.suite, req.target, req.mirror);
  // debootstrap fetches with wget, which reads http_proxy; the root filesystem keeps no trace of it.
  const env = withAptProxyEnv({ DEBIAN_FRONTEND: 'noninteractive' }, await aptProxyFor('host'));
  const child = execa('debootstrap', args, { all: true, reject: false, env });
  const stop = onInterrupt(() => void child.kill('SIGTERM'));
  const tail: string[] = [];
  child.all?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    req.onOutput(text);
    tail.push(...text.split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 15));
  });
  const result = await child;
  await stop();
  if (result.exitCode !== 0) {
    const log = join(req.target, 'debootstrap', 'debootstrap.log');
    const logTail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-15) : tail;
    throw new PharosError(`debootstrap ${req.suite} failed (exit code ${result.exitCode})`, {
      step: 'bootstrap',
      file: existsSync(log) ? log : undefined,
      tail: logTail,
      next: 'read the log above; a network error means the mirror is unreachable (set PHAROS_DEBIAN_MIRROR)',
    });
  }
}

/** The root filesystem as a tar stream with numeric owners, as `docker import` expects. */
export function tarRootfs(rootfs: string): { stream: Readable; done: Promise<unknown> } {
  const child = execa('tar', ['--numeric-owner', '--xattrs', '-C', rootfs, '-c', '.'], { stdout: 'pipe', buffer: false });
  return { stream: child.stdout as Readable, done: child };
}
