import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
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

  it('stops on a digest mismatch, naming the URL and both digests, and keeps the download under its own digest', async () => {
    const err = await fetchError({ what: 'x 1', sources: [source(`${base}/good/x.tar.gz`)], cacheDir: cache, mirrors: [`${base}/evil`] });
    const wrong = createHash('sha256').update('not the pinned file').digest('hex');
    expect(err.message).toBe(
      `x.tar.gz from ${base}/evil/x.tar.gz does not match its pin: the file is likely bad, e.g. a truncated or replaced download ` +
        `(its sha256 ${wrong} never matched a pin in this cache; the pin says ${SHA})`,
    );
    expect(readdirSync(cache)).toEqual([`x.tar.gz.sha256-${wrong}`]);
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
    expect((await fetchError({ what: 'local 1', sources: pinned, cacheDir: cache, mirrors: [] })).message).toContain(
      'cached local.tar.gz does not match its pin: the file is likely bad',
    );
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

/** Every file of a folder, with the sha256 of its content: what a fetch kept, renamed or (never) deleted. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]),
  );
}

describe('a digest mismatch in the source cache', () => {
  const UNREACHABLE = 'http://127.0.0.1:1/x.tar.gz';
  // One hex digit of the pin changed, as a typo would.
  const TYPO = `${SHA.slice(0, 10)}${SHA[10] === '0' ? '1' : '0'}${SHA.slice(11)}`;
  const TRUNCATED = BODY.subarray(0, 1000);
  const TRUNCATED_SHA = createHash('sha256').update(TRUNCATED).digest('hex');
  const verifiedOn = () => new Date('2025-03-04T05:06:07Z');
  let dir: string;
  let cache: string;
  let mirror: string;
  let recipe: string;
  const pin = (sha256: string) =>
    writeFileSync(recipe, `name: x\nversions:\n  "1":\n    sources:\n      - kind: url\n        url: ${UNREACHABLE}\n        sha256: ${sha256}\n`);
  const request = (sha256: string, mirrors: string[] = []) => ({
    what: 'x 1',
    sources: [{ file: 'x.tar.gz', sha256, location: { kind: 'url' as const, url: UNREACHABLE } }],
    cacheDir: cache,
    mirrors,
    recipeFile: recipe,
    now: verifiedOn,
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-mismatch-'));
    [cache, mirror] = [join(dir, 'cache'), join(dir, 'mirror')];
    mkdirSync(cache);
    mkdirSync(mirror);
    writeFileSync(join(mirror, 'x.tar.gz'), BODY);
    recipe = join(dir, 'recipe.yaml');
    // The machine's own sources config must not hold the pin the messages look for.
    vi.stubEnv('PHAROS_SOURCES_CONFIG', join(dir, 'none.yaml'));
    return () => {
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    };
  });

  it('keeps a file that matched before, blames a mistyped pin, and takes the file back offline once the pin is fixed', async () => {
    pin(SHA);
    expect((await fetchSource(request(SHA, [`file://${mirror}`]))).from).toBe(`file://${mirror}/x.tar.gz`);

    pin(TYPO);
    const err = await fetchError(request(TYPO));
    expect(err.message).toBe(
      `cached x.tar.gz does not match its pin: the pin is likely wrong (this file matched sha256 ${SHA} on 2025-03-04; the pin says ${TYPO})`,
    );
    expect(err.details).toEqual({
      file: recipe,
      line: 7,
      step: 'fetch x 1',
      next:
        `if the pin was mistyped, set it back to ${SHA} at ${recipe}:7: this copy is kept as ${cache}/x.tar.gz.sha256-${SHA}, and fetch ` +
        `takes it from there, offline, once the pin says ${SHA}. If the pin is right (upstream re-rolled the file), run the fetch again ` +
        `to download a good copy, or, offline, put a good copy (sha256 ${TYPO}) at ${cache}/x.tar.gz or on a mirror in ` +
        `PHAROS_SOURCE_MIRRORS (e.g. file:///srv/mirror holding x.tar.gz)`,
    });
    const kept = { [`x.tar.gz.sha256-${SHA}`]: SHA };
    expect(contents(cache)).toMatchObject(kept);
    expect(Object.keys(contents(cache)).sort()).toEqual([`x.tar.gz.sha256-${SHA}`, 'x.tar.gz.verified']);

    // Run again without fixing the pin: offline, the final error still points at the kept copy and the pin.
    const again = await fetchError(request(TYPO));
    expect(again.message).toMatch(
      new RegExp(
        `^no source of x 1 could be fetched\\. Tried:\n    ${cache}/x\\.tar\\.gz\\.sha256-${SHA} \\(source cache\\): the pin is likely wrong ` +
          `\\(this file matched sha256 ${SHA} on 2025-03-04; the pin says ${TYPO}\\)\n    ${UNREACHABLE} \\(upstream\\): .+$`,
      ),
    );
    expect(again.details.next).toMatch(
      new RegExp(
        `^if the pin of x\\.tar\\.gz was mistyped, set it back to ${SHA} at ${recipe}:7 \\(the cache keeps the copy that matched it\\); otherwise place`,
      ),
    );
    // Online, a download that matches neither does not touch the kept copy.
    const evil = join(dir, 'evil');
    mkdirSync(evil);
    writeFileSync(join(evil, 'x.tar.gz'), TRUNCATED);
    expect((await fetchError(request(TYPO, [`file://${evil}`]))).message).toBe(
      `x.tar.gz from file://${evil}/x.tar.gz does not match its pin: the file is likely bad, e.g. a truncated or replaced download ` +
        `(its sha256 ${TRUNCATED_SHA} never matched a pin in this cache; the pin says ${TYPO})`,
    );
    expect(contents(cache)).toMatchObject({ ...kept, [`x.tar.gz.sha256-${TRUNCATED_SHA}`]: TRUNCATED_SHA });

    pin(SHA);
    const fixed = await fetchSource(request(SHA));
    expect(fixed).toEqual({ path: join(cache, 'x.tar.gz'), file: 'x.tar.gz', sha256: SHA, from: 'source cache' });
    expect(Object.keys(contents(cache)).sort()).toEqual(['x.tar.gz', `x.tar.gz.sha256-${TRUNCATED_SHA}`, 'x.tar.gz.verified']);
    expect(contents(mirror)).toEqual({ 'x.tar.gz': SHA });
  });

  it('takes a kept copy back when a pin is set back, and keeps the copy it replaces', async () => {
    const REROLLED = Buffer.from('upstream re-rolled the tarball\n');
    const REROLLED_SHA = createHash('sha256').update(REROLLED).digest('hex');
    pin(SHA);
    await fetchSource(request(SHA, [`file://${mirror}`]));
    // Upstream re-rolls the file and the pin follows: the first run keeps the old copy aside, the next downloads.
    writeFileSync(join(mirror, 'x.tar.gz'), REROLLED);
    pin(REROLLED_SHA);
    await fetchError(request(REROLLED_SHA, [`file://${mirror}`]));
    expect((await fetchSource(request(REROLLED_SHA, [`file://${mirror}`]))).from).toBe(`file://${mirror}/x.tar.gz`);

    pin(SHA);
    const logged: string[] = [];
    const back = await fetchSource({ ...request(SHA), log: (t) => logged.push(t) });
    expect(back.from).toBe('source cache');
    expect(logged).toEqual([
      `x.tar.gz does not match the pin: kept as ${cache}/x.tar.gz.sha256-${REROLLED_SHA}\n`,
      `the pin of x.tar.gz names the copy kept as ${cache}/x.tar.gz.sha256-${SHA}: using it\n`,
    ]);
    expect(contents(cache)).toMatchObject({ 'x.tar.gz': SHA, [`x.tar.gz.sha256-${REROLLED_SHA}`]: REROLLED_SHA });
  });

  it('keeps a corrupted file aside under its digest, blames it, and then fetches a good copy from a mirror', async () => {
    pin(SHA);
    writeFileSync(join(cache, 'x.tar.gz'), TRUNCATED);
    const err = await fetchError(request(SHA));
    expect(err.message).toBe(
      `cached x.tar.gz does not match its pin: the file is likely bad, e.g. a truncated or replaced download ` +
        `(its sha256 ${TRUNCATED_SHA} never matched a pin in this cache; the pin says ${SHA})`,
    );
    expect(err.details).toEqual({
      file: recipe,
      line: 7,
      step: 'fetch x 1',
      next:
        `run the fetch again to download a good copy, or, offline, put a good copy (sha256 ${SHA}) at ${cache}/x.tar.gz or on a mirror in ` +
        `PHAROS_SOURCE_MIRRORS (e.g. file:///srv/mirror holding x.tar.gz). This copy is kept as ${cache}/x.tar.gz.sha256-${TRUNCATED_SHA} ` +
        `for inspection; if you checked it by your own means, the pin at ${recipe}:7 is what to fix`,
    });
    expect(contents(cache)).toEqual({ [`x.tar.gz.sha256-${TRUNCATED_SHA}`]: TRUNCATED_SHA });

    const got = await fetchSource(request(SHA, [`file://${mirror}`]));
    expect(got).toEqual({ path: join(cache, 'x.tar.gz'), file: 'x.tar.gz', sha256: SHA, from: `file://${mirror}/x.tar.gz` });
    expect(contents(cache)).toMatchObject({ 'x.tar.gz': SHA, [`x.tar.gz.sha256-${TRUNCATED_SHA}`]: TRUNCATED_SHA });
    expect(Object.keys(contents(cache)).sort()).toEqual(['x.tar.gz', `x.tar.gz.sha256-${TRUNCATED_SHA}`, 'x.tar.gz.verified']);
    expect(contents(mirror)).toEqual({ 'x.tar.gz': SHA });
    expect(JSON.parse(readFileSync(join(cache, 'x.tar.gz.verified'), 'utf8'))).toEqual({ file: 'x.tar.gz', matched: { [SHA]: '2025-03-04T05:06:07.000Z' } });
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

  it('finds any other file of a Debian source package in the same pool folder', () => {
    const s: PinnedSource = { file: 'apptainer_1.4.5-2.debian.tar.xz', sha256: SHA, location: { kind: 'debian-pool', package: 'apptainer' } };
    expect(sourceCandidates(s, [], 'http://deb.example/debian')).toEqual([
      { label: 'Debian source package apptainer', url: 'http://deb.example/debian/pool/main/a/apptainer/apptainer_1.4.5-2.debian.tar.xz' },
    ]);
    expect(sourceCandidates(s, [], undefined)).toEqual([]);
  });
});
