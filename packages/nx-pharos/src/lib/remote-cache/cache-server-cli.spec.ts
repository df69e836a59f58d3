import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheServerCli, cacheTokensCli, parseCacheServerArgs } from './cache-server-cli';

const BIN = resolve(__dirname, '../../../bin/pharos.cjs');

describe('pharos cache-server and cache-tokens', () => {
  let dir: string;
  let tokenArgs: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-cache-cli-'));
    tokenArgs = ['--read-token-file', join(dir, 'tokens/read'), '--write-token-file', join(dir, 'tokens/write')];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const output = () => {
    const lines: string[] = [];
    return { lines, stdout: { write: (t: string) => lines.push(...t.trimEnd().split('\n')) } };
  };

  it('reads its options, with loopback, port 7420 and 512M as the defaults', () => {
    expect(parseCacheServerArgs(['--dir', 'entries', ...tokenArgs])).toEqual({
      help: false,
      dir: resolve('entries'),
      readTokenFile: join(dir, 'tokens/read'),
      writeTokenFile: join(dir, 'tokens/write'),
      host: '127.0.0.1',
      port: 7420,
      maxEntryBytes: 512 * 1024 ** 2,
    });
    expect(parseCacheServerArgs(['--dir', '/e', ...tokenArgs, '--host', '0.0.0.0', '--port', '0', '--max-entry-size', '2G'])).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      maxEntryBytes: 2 * 1024 ** 3,
    });
    expect(parseCacheServerArgs(['--help']).help).toBe(true);
  });

  it('refuses a missing option, a bad port or size, and an unknown option', () => {
    expect(() => parseCacheServerArgs(tokenArgs)).toThrow(/--dir is required/);
    expect(() => parseCacheServerArgs(['--dir', '/e', '--read-token-file', 'r'])).toThrow(/--write-token-file is required/);
    expect(() => parseCacheServerArgs(['--dir', '/e', ...tokenArgs, '--port', '70000'])).toThrow(/not a port number/);
    expect(() => parseCacheServerArgs(['--dir', '/e', ...tokenArgs, '--port', '-1'])).toThrow();
    expect(() => parseCacheServerArgs(['--dir', '/e', ...tokenArgs, '--max-entry-size', 'big'])).toThrow(/not a size/);
    expect(() => parseCacheServerArgs(['--dir', '/e', ...tokenArgs, '--token', 'x'])).toThrow(/Unknown option '--token'/);
  });

  it('cache-tokens writes both tokens once, says which files, and prints no token', () => {
    const first = output();
    expect(cacheTokensCli(tokenArgs, first)).toBe(0);
    expect(first.lines).toEqual([`wrote a new token into ${join(dir, 'tokens/read')}`, `wrote a new token into ${join(dir, 'tokens/write')}`]);
    const again = output();
    cacheTokensCli(tokenArgs, again);
    expect(again.lines).toEqual([`kept ${join(dir, 'tokens/read')}`, `kept ${join(dir, 'tokens/write')}`]);
    const tokens = ['read', 'write'].map((f) => readFileSync(join(dir, 'tokens', f), 'utf8').trim());
    for (const t of tokens) expect([...first.lines, ...again.lines].join('\n')).not.toContain(t);
  });

  it('serves until asked to stop, then stops', async () => {
    cacheTokensCli(tokenArgs, output());
    const out = output();
    const code = await cacheServerCli(['--dir', join(dir, 'entries'), ...tokenArgs, '--port', '0'], {
      stdout: out.stdout,
      stopRequested: async (server) => {
        const status = await new Promise((ok) => request(`${server.url}/health`, (res) => ok(res.statusCode)).end());
        expect(status).toBe(200);
      },
    });
    expect(code).toBe(0);
    expect(out.lines[0]).toMatch(new RegExp(`^serving ${join(dir, 'entries')} at http://127\\.0\\.0\\.1:\\d+ \\(entries up to 536870912 bytes; pid \\d+\\)$`));
    expect(out.lines.slice(-2)).toEqual(['stopping', 'stopped']);
  });

  it('as a process: an upload cut by SIGKILL leaves nothing once it restarts, and SIGTERM stops it cleanly', async () => {
    cacheTokensCli(tokenArgs, output());
    const entries = join(dir, 'entries');
    const start = async () => {
      const child = execa('node', [BIN, 'cache-server', '--dir', entries, ...tokenArgs, '--port', '0'], { reject: false });
      const url = await new Promise<string>((ok, fail) => {
        let seen = '';
        child.stdout?.on('data', (c: Buffer) => {
          seen += c.toString();
          const m = / at (http:\/\/\S+) /.exec(seen);
          if (m) ok(m[1]);
        });
        void child.then((r) => fail(new Error(`cache-server ended: ${r.stderr || r.stdout}`)));
      });
      return { child, url };
    };
    const killed = await start();
    const upload = request(`${killed.url}/v1/cache/123`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${readFileSync(join(dir, 'tokens/write'), 'utf8').trim()}` },
    });
    upload.on('error', () => undefined);
    upload.write(Buffer.alloc(4096));
    const temporary = () => (existsSync(entries) ? readdirSync(entries) : []).filter((n) => n.startsWith('.123.tmp-'));
    for (let i = 0; i < 200 && !temporary().length; i++) await sleep(10);
    expect(temporary()).toHaveLength(1);
    killed.child.kill('SIGKILL');
    await killed.child;
    expect(temporary()).toHaveLength(1); // what a killed server leaves: no entry, one temporary file

    const restarted = await start();
    restarted.child.kill('SIGTERM');
    const r = await (restarted.child as ResultPromise<{ reject: false }>);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^removed \.123\.tmp-\S+, an upload a stopped server left unfinished$/m);
    expect(r.stdout).toMatch(/stopping \(SIGTERM\)\nstopped$/);
    expect(readdirSync(entries)).toEqual([]);
  }, 30_000);
});
