import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidIsAlive } from '../utils/pid';
import {
  APT_CACHER_BINARY,
  MAX_PORT,
  aptCacherArgv,
  aptCacherConfig,
  aptCacherPaths,
  parseAptCacherLog,
  startAptCacher,
  transferTotals,
  type AptCacherTransfer,
} from './apt-cacher-ng';

describe('the apt-cacher-ng Pharos runs', () => {
  const paths = aptCacherPaths('/home/ann/.cache/pharos/apt-cacher-ng');

  it('keeps everything in its own folder, and reads only its own config', () => {
    expect(paths).toEqual({
      dir: '/home/ann/.cache/pharos/apt-cacher-ng',
      conf: '/home/ann/.cache/pharos/apt-cacher-ng/conf',
      cache: '/home/ann/.cache/pharos/apt-cacher-ng/cache',
      log: '/home/ann/.cache/pharos/apt-cacher-ng/log',
      pidFile: '/home/ann/.cache/pharos/apt-cacher-ng/apt-cacher-ng.pid',
      socket: '/home/ann/.cache/pharos/apt-cacher-ng/socket',
    });
    expect(aptCacherArgv(paths)).toEqual(['-c', '/home/ann/.cache/pharos/apt-cacher-ng/conf', 'ForeGround=1']);
  });

  it('listens on loopback and the bridge only, remaps nothing and logs each transfer at once', () => {
    const conf = aptCacherConfig({ bind: ['127.0.0.1', '172.17.0.1'], port: 3142, paths });
    expect(conf).toContain('\nBindAddress: 127.0.0.1 172.17.0.1\n');
    expect(conf).toContain('\nPort: 3142\n');
    expect(conf).toContain('\nCacheDir: /home/ann/.cache/pharos/apt-cacher-ng/cache\n');
    expect(conf).toContain('\nUnbufferLogs: 1\n');
    expect(conf).not.toMatch(/^(Remap-|Proxy|PassThroughPattern)/m);
  });

  it('reads its log: bytes fetched from upstream, bytes served', () => {
    const log = [
      '1795972855|I|53344|127.0.0.1|mirror.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb',
      '1795972855|O|53313|127.0.0.1|mirror.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb',
      '1795972856|O|53313|172.17.0.2|mirror.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb',
      '1795972857|E|619|127.0.0.1|mirror.example/x [HTTP error, code: 404]',
      'not a transfer',
    ].join('\n');
    const transfers = parseAptCacherLog(log);
    expect(transfers.map((t) => t.kind)).toEqual(['I', 'O', 'O', 'E']);
    expect(transfers[2]).toEqual({ kind: 'O', bytes: 53313, client: '172.17.0.2', path: 'mirror.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb' });
    expect(transferTotals(transfers)).toEqual({ fetched: 53344, served: 106626 });
  });
});

/**
 * The real apt-cacher-ng of this host (npm run setup installs it), started as setup starts it but on a port of its
 * own with a folder of its own, and the host's apt-get fetching through it with http_proxy, as every Pharos client
 * does. It fetches one small package from the host's Debian mirror twice: the second time from the cache.
 */
describe('apt-get through the real apt-cacher-ng', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-acng-'));
  const paths = aptCacherPaths(join(dir, 'acng'));
  let proxy = '';

  beforeAll(async () => {
    // A free port below the kernel's ephemeral range, which apt-cacher-ng cannot bind (MAX_PORT).
    let port = 0;
    for (let tries = 0; !port && tries < 20; tries++) {
      const candidate = 20_000 + Math.floor(Math.random() * (MAX_PORT - 20_000));
      const probe = createServer();
      const free = await new Promise<boolean>((r) => probe.once('error', () => r(false)).listen(candidate, '127.0.0.1', () => r(true)));
      if (free) await new Promise((r) => probe.close(r));
      if (free) port = candidate;
    }
    proxy = `http://127.0.0.1:${port}`;
    if (!existsSync(APT_CACHER_BINARY)) return;
    expect((await startAptCacher({ bind: ['127.0.0.1'], port, paths, siteConfig: join(dir, 'no-site.conf') })).lines[0]).toMatch(
      /^started the apt cache \(apt-cacher-ng\) at 127\.0\.0\.1:\d+ /,
    );
  }, 30_000);

  afterAll(() => {
    const pid = existsSync(paths.pidFile) ? Number(readFileSync(paths.pidFile, 'utf8')) : 0;
    if (pid && pidIsAlive(pid)) process.kill(pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is installed (npm run setup installs it)', () => {
    expect(existsSync(APT_CACHER_BINARY), `${APT_CACHER_BINARY} is missing: run npm run setup`).toBe(true);
  });

  it('serves a package apt-get downloads, and the second download from its cache', { timeout: 120_000 }, async () => {
    const env = { http_proxy: proxy, LC_ALL: 'C' };
    // The host's package lists when they know the package, else fresh ones, fetched through the cache too.
    const known = /Candidate: (?!\(none\))/.test((await execa('apt-cache', ['policy', 'hello'], { reject: false, env })).stdout);
    const lists = known ? [] : ['-o', `Dir::State::Lists=${join(dir, 'lists')}`];
    if (!known) {
      mkdirSync(join(dir, 'lists', 'partial'), { recursive: true });
      await execa('apt-get', ['update', '-q', '-o', 'Debug::NoLocking=1', ...lists], { env });
    }
    const download = async (into: string) => {
      mkdirSync(into);
      await execa('apt-get', ['download', '-q', ...lists, 'hello'], { cwd: into, env });
      return readdirSync(into).filter((f) => f.endsWith('.deb'));
    };
    const log = () => parseAptCacherLog(readFileSync(join(paths.log, 'apt-cacher.log'), 'utf8')).filter((t) => /\/hello_[^/]+\.deb$/.test(t.path));
    const first = await download(join(dir, 'first'));
    expect(first).toHaveLength(1);
    const once = log();
    expect(once.map((t: AptCacherTransfer) => t.kind)).toEqual(['I', 'O']);
    expect(await download(join(dir, 'second'))).toEqual(first);
    const twice = log();
    // Served again, not fetched again.
    expect(twice.map((t) => t.kind)).toEqual(['I', 'O', 'O']);
    expect(readFileSync(join(dir, 'second', first[0]))).toEqual(readFileSync(join(dir, 'first', first[0])));
  });
});
