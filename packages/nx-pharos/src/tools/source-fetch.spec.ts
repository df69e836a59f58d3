import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PinnedSource } from '../definitions/source-recipe';
import { PharosError } from '../utils/errors';
import { configuredPins, fetchSource, poolPrefix, sourceCandidates, withSitePins } from './source-fetch';

// A real HTTP server on loopback (range requests included): the download path is the one used against mirrors.
/** The error a fetch that must fail rejects with. */
async function fetchError(req: Parameters<typeof fetchSource>[0]): Promise<PharosError> {
  const err = await fetchSource(req).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PharosError)) throw new Error(`expected a PharosError, got ${String(err)}`);
  return err;
}

const BODY = Buffer.from('x'.repeat(200_000) + 'the end\n');
const SHA = createHash('sha256').update(BODY).digest('hex');

describe('fetchSource', () => {
  let server: Server;
  let base: string;
  let cache: string;
  const ranges: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/good/x.tar.gz') {
        const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
        if (range) {
          ranges.push(req.headers.range as string);
          res.writeHead(206, { 'content-length': BODY.length - Number(range[1]) });
          res.end(BODY.subarray(Number(range[1])));
        } else {
          res.end(BODY);
        }
      } else if (req.url === '/evil/x.tar.gz') {
        res.end('not the pinned file');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'pharos-sources-'));
    ranges.length = 0;
    return () => rmSync(cache, { recursive: true, force: true });
  });
  const source = (url: string, sha256 = SHA): PinnedSource => ({ file: 'x.tar.gz', sha256, location: { kind: 'url', url } });

  it('tries a mirror that lacks the file, then upstream, and verifies before keeping it', async () => {
    const got = await fetchSource({ what: 'x 1', sources: [source(`${base}/good/x.tar.gz`)], cacheDir: cache, mirrors: [`${base}/empty`] });
    expect(got).toEqual({ path: join(cache, 'x.tar.gz'), file: 'x.tar.gz', sha256: SHA, from: `${base}/good/x.tar.gz` });
    const again = await fetchSource({ what: 'x 1', sources: [source('http://127.0.0.1:1/unreachable')], cacheDir: cache, mirrors: [] });
    expect(again.from).toBe('source cache');
  });

  it('resumes a partial download with a range request', async () => {
    writeFileSync(join(cache, 'x.tar.gz.part'), BODY.subarray(0, 50_000));
    const got = await fetchSource({ what: 'x 1', sources: [source(`${base}/good/x.tar.gz`)], cacheDir: cache, mirrors: [] });
    expect(ranges).toEqual(['bytes=50000-']);
    expect(readFileSync(got.path).equals(BODY)).toBe(true);
  });

  it('stops on a digest mismatch, naming the URL and both digests, and moves the file aside', async () => {
    const err = await fetchError({ what: 'x 1', sources: [source(`${base}/good/x.tar.gz`)], cacheDir: cache, mirrors: [`${base}/evil`] });
    const wrong = createHash('sha256').update('not the pinned file').digest('hex');
    expect(err.message).toBe(`${base}/evil/x.tar.gz gave sha256 ${wrong}, the recipe pins ${SHA}`);
    expect(existsSync(join(cache, 'x.tar.gz'))).toBe(false);
    expect(readdirSync(cache).filter((f) => f.includes('.bad-'))).toHaveLength(1);
  });

  it('lists everything it tried and how to supply a local copy when nothing answers', async () => {
    const unpinned: PinnedSource = { file: 'x.tar.bz2', location: { kind: 'url', url: `${base}/x.tar.bz2` }, note: 'not checked' };
    const err = await fetchError({ what: 'x 1', sources: [unpinned, source(`${base}/gone/x.tar.gz`)], cacheDir: cache, mirrors: [] });
    expect(err.message).toContain('no source of x 1 could be fetched');
    expect(err.message).toContain('x.tar.bz2: skipped, no pinned sha256 (not checked)');
    expect(err.message).toContain(`${base}/gone/x.tar.gz (upstream): HTTP 404`);
    expect(err.details.next).toContain(`place x.tar.gz (sha256 ${SHA}) in ${cache}/`);
    expect(err.details.next).toContain('PHAROS_SOURCE_MIRRORS');
  });

  it('says which file to place where, and how to pin it, when no source of a version is pinned', async () => {
    const unpinned: PinnedSource = {
      file: 'beegfs-7.4.7.tar.gz',
      location: { kind: 'url', url: 'https://github.com/ThinkParQ/beegfs/archive/refs/tags/7.4.7.tar.gz' },
    };
    const err = await fetchError({ what: 'beegfs 7.4.7', sources: [unpinned], cacheDir: cache, mirrors: [] });
    expect(err.message).toContain('beegfs-7.4.7.tar.gz: skipped, no pinned sha256');
    expect(err.details.next).toContain(`put it in ${cache}/`);
    expect(err.details.next).toContain('pins: { beegfs-7.4.7.tar.gz: <sha256sum> }');
  });

  it("uses a site's pin for a source the recipe could not pin, from the local cache, and never overrides the recipe", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-pins-'));
    const config = join(dir, 'sources.yaml');
    const env = { PHAROS_SOURCES_CONFIG: config };
    writeFileSync(config, `pins:\n  local.tar.gz: ${SHA}\n`);
    writeFileSync(join(cache, 'local.tar.gz'), BODY);
    const unpinned: PinnedSource = { file: 'local.tar.gz', location: { kind: 'url', url: 'http://127.0.0.1:1/local.tar.gz' } };
    const pinned = withSitePins([unpinned], configuredPins(env), env);
    expect(pinned[0].sha256).toBe(SHA);
    const got = await fetchSource({ what: 'local 1', sources: pinned, cacheDir: cache, mirrors: [] });
    expect(got.from).toBe('source cache');
    // A wrong local copy is still refused: the pin is checked like the recipe's.
    writeFileSync(join(cache, 'local.tar.gz'), 'tampered\n');
    expect((await fetchError({ what: 'local 1', sources: pinned, cacheDir: cache, mirrors: [] })).message).toContain('the recipe pins');
    expect(() => withSitePins([{ ...unpinned, sha256: 'b'.repeat(64) }], configuredPins(env), env)).toThrow(
      `the sources config pins local.tar.gz to ${SHA}, but the recipe pins ${'b'.repeat(64)}`,
    );
    writeFileSync(config, 'pins:\n  local.tar.gz: nope\n');
    expect(() => configuredPins(env)).toThrow('"pins.local.tar.gz" must be a sha256 digest (64 lower-case hex digits), got "nope"');
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes a local directory as a file:// mirror', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-mirror-'));
    writeFileSync(join(dir, 'x.tar.gz'), BODY);
    const got = await fetchSource({ what: 'x 1', sources: [source('http://127.0.0.1:1/none')], cacheDir: cache, mirrors: [`file://${dir}`] });
    expect(got.from).toBe(`file://${dir}/x.tar.gz`);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('source candidates', () => {
  it('puts mirrors first and finds Debian orig tarballs in the pool', () => {
    expect(poolPrefix('slurm-wlm')).toBe('s');
    expect(poolPrefix('libfoo')).toBe('libf');
    const s: PinnedSource = { file: 'slurm-wlm_24.11.5.orig.tar.gz', sha256: SHA, location: { kind: 'debian-orig', package: 'slurm-wlm' } };
    expect(sourceCandidates(s, ['https://m.example/src/'], 'http://deb.example/debian')).toEqual([
      { label: 'mirror https://m.example/src/', url: 'https://m.example/src/slurm-wlm_24.11.5.orig.tar.gz' },
      { label: 'Debian orig of slurm-wlm', url: 'http://deb.example/debian/pool/main/s/slurm-wlm/slurm-wlm_24.11.5.orig.tar.gz' },
    ]);
  });
});
