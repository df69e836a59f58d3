import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseSourceRecipe } from '../definitions/source-recipe';
import { PharosError } from '../utils/errors';
import { configuredPins, fetchSource, withSitePins } from './source-fetch';
import { choosePin, parsePinArgs, pinSource, type PinArgs } from './source-pin';

// No network: upstream and the mirrors are file:// folders, the site's sources config a temporary file.
const BODY = Buffer.from('a release tarball\n'.repeat(1000));
const SHA = createHash('sha256').update(BODY).digest('hex');
const OTHER = 'c'.repeat(64);
const NOW = new Date('2025-05-01T10:00:00Z');

const SITE_CONFIG = `# Our site's sources (reviewed by the storage team).
mirrors: [file:///nonexistent/pharos-mirror] # the lab NAS

pins:
  # checked against the release notes
  other-1.0.tar.gz: ${OTHER}
`;

describe('pharos pin', () => {
  let dir: string;
  let recipe: string;
  let config: string;
  let cache: string;
  let upstream: string;
  let env: NodeJS.ProcessEnv;
  let said: string;
  let asked: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-pin-'));
    upstream = join(dir, 'upstream');
    mkdirSync(upstream);
    writeFileSync(join(upstream, 'tool-2.0.tar.gz'), BODY);
    recipe = join(dir, 'recipe.yaml');
    writeFileSync(
      recipe,
      `name: tool\ndefaultVersion: "2.0"\nversions:\n  "2.0":\n    sources:\n` +
        `      - kind: url\n        url: file://${upstream}/tool-2.0.tar.gz\n        sha256: unpinned\n` +
        `  "1.0":\n    sources:\n      - kind: url\n        url: file://${upstream}/tool-1.0.tar.gz\n        sha256: ${OTHER}\n` +
        `      - kind: url\n        url: file://${upstream}/tool-1.0.tar.bz2\n        sha256: unpinned\n`,
    );
    config = join(dir, 'etc/pharos/sources.yaml');
    mkdirSync(join(dir, 'etc/pharos'), { recursive: true });
    writeFileSync(config, SITE_CONFIG);
    chmodSync(config, 0o600);
    cache = join(dir, 'cache');
    env = { PHAROS_SOURCES_CONFIG: config, PHAROS_SOURCE_MIRRORS: '' };
    said = '';
    asked = [];
    return () => rmSync(dir, { recursive: true, force: true });
  });

  const pin = (args: Partial<PinArgs>, terminal?: { answer: string }) =>
    pinSource(
      { recipe, yes: false, help: false, ...args },
      {
        out: (t) => (said += t),
        interactive: !!terminal,
        ask: async (q) => {
          asked.push(q);
          return terminal?.answer ?? '';
        },
      },
      { env, cacheDir: cache, now: () => NOW },
    );
  const failure = async (args: Partial<PinArgs>, terminal?: { answer: string }) => {
    const err = await pin(args, terminal).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof PharosError)) throw new Error(`expected a PharosError, got ${String(err)}`);
    return err;
  };
  const cacheFiles = () => (existsSync(cache) ? readdirSync(cache).sort() : []);

  it('with --yes: downloads, prints file, sha256 and size, pins it keeping the config, and fetch then takes it offline', async () => {
    expect(await pin({ yes: true })).toBe(0);
    expect(said).toContain('download tool-2.0.tar.gz from mirror file:///nonexistent/pharos-mirror');
    expect(said).toContain(`tool 2.0: tool-2.0.tar.gz\n  from    file://${upstream}/tool-2.0.tar.gz\n  sha256  ${SHA}\n  size    18000 bytes (0.0 MiB)\n`);
    expect(said).toContain(`pinned tool-2.0.tar.gz at ${config}:7; verified in the source cache: ${join(cache, 'tool-2.0.tar.gz')}`);
    expect(said).toContain('next: npx nx run tool:fetch');
    expect(asked).toEqual([]);
    expect(readFileSync(config, 'utf8')).toBe(`${SITE_CONFIG}  tool-2.0.tar.gz: ${SHA}\n`);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(cacheFiles()).toEqual(['tool-2.0.tar.gz', 'tool-2.0.tar.gz.verified']);
    expect(JSON.parse(readFileSync(join(cache, 'tool-2.0.tar.gz.verified'), 'utf8')).matched).toEqual({ [SHA]: NOW.toISOString() });

    rmSync(upstream, { recursive: true });
    const sources = withSitePins(parseSourceRecipe(readFileSync(recipe, 'utf8'), recipe).versions['2.0'].sources, configuredPins(env), env);
    const fetched = await fetchSource({ what: 'tool 2.0', sources, cacheDir: cache, mirrors: [] });
    expect([fetched.from, fetched.sha256]).toEqual(['source cache', SHA]);

    said = '';
    expect(await pin({ yes: true })).toBe(0);
    expect(said).toBe(`tool 2.0: tool-2.0.tar.gz is pinned already (sha256 ${SHA}, ${config}:7); nothing to pin\n  next: npx nx run tool:fetch\n`);
  });

  it('refuses without a terminal unless --yes, before downloading anything', async () => {
    const err = await failure({});
    expect(err.format()).toBe(
      'pharos: pin tool 2.0: tool-2.0.tar.gz not pinned: there is no terminal to confirm its sha256 on\n' +
        "  next: run it in a terminal, or add --yes to pin what it downloads (then check the printed sha256 against upstream's by your own means)",
    );
    expect(said).toBe('');
    expect(readFileSync(config, 'utf8')).toBe(SITE_CONFIG);
    expect(cacheFiles()).toEqual([]);
  });

  it('on a terminal, pins only when the answer is yes; a no removes the download and writes nothing', async () => {
    expect(await pin({}, { answer: 'n' })).toBe(1);
    expect(asked).toEqual([`Pin tool-2.0.tar.gz to this sha256 in ${config}? Compare it with upstream's published digest first. [y/N] `]);
    expect(said).toContain(`sha256  ${SHA}`);
    expect(said).toContain(`not pinned: ${config} and the source cache are unchanged, and the download is removed`);
    expect(readFileSync(config, 'utf8')).toBe(SITE_CONFIG);
    expect(cacheFiles()).toEqual([]);

    expect(await pin({}, { answer: 'yes' })).toBe(0);
    expect(readFileSync(config, 'utf8')).toContain(`  tool-2.0.tar.gz: ${SHA}\n`);
    expect(cacheFiles()).toEqual(['tool-2.0.tar.gz', 'tool-2.0.tar.gz.verified']);
  });

  it('says what it tried and how an offline site supplies the file when no place has it', async () => {
    rmSync(join(upstream, 'tool-2.0.tar.gz'));
    const err = await failure({ yes: true });
    expect(err.format()).toBe(
      'pharos: pin tool 2.0: could not download tool-2.0.tar.gz. Tried:\n' +
        '    file:///nonexistent/pharos-mirror/tool-2.0.tar.gz (mirror file:///nonexistent/pharos-mirror): no such file\n' +
        `    file://${upstream}/tool-2.0.tar.gz (upstream): no such file\n` +
        `  next: where upstream cannot be reached, pin a copy you have: put it at ${join(cache, 'tool-2.0.tar.gz')} and run this again, ` +
        `or name a mirror that holds tool-2.0.tar.gz: PHAROS_SOURCE_MIRRORS=file:///<dir> (or an http(s) URL), or "mirrors:" in ${config}`,
    );
    expect(readFileSync(config, 'utf8')).toBe(SITE_CONFIG);
    expect(cacheFiles()).toEqual([]);
  });

  it('pins a copy placed in the source cache or on a mirror, for a site that cannot reach upstream', async () => {
    rmSync(join(upstream, 'tool-2.0.tar.gz'));
    const mirror = join(dir, 'mirror');
    mkdirSync(mirror);
    writeFileSync(join(mirror, 'tool-2.0.tar.gz'), BODY);
    env.PHAROS_SOURCE_MIRRORS = `file://${mirror}`;
    expect(await pin({ yes: true })).toBe(0);
    expect(said).toContain(`from    file://${mirror}/tool-2.0.tar.gz`);

    writeFileSync(config, SITE_CONFIG);
    rmSync(cache, { recursive: true });
    mkdirSync(cache);
    writeFileSync(join(cache, 'tool-2.0.tar.gz'), BODY);
    said = '';
    expect(await pin({ yes: true })).toBe(0);
    expect(said).toContain(`from    source cache (${join(cache, 'tool-2.0.tar.gz')})`);
    expect(readFileSync(config, 'utf8')).toContain(`  tool-2.0.tar.gz: ${SHA}\n`);
  });

  it('creates the sources config when the site has none', async () => {
    env.PHAROS_SOURCES_CONFIG = join(dir, 'new/dir/sources.yaml');
    expect(await pin({ yes: true })).toBe(0);
    expect(readFileSync(join(dir, 'new/dir/sources.yaml'), 'utf8')).toBe(`pins:\n  tool-2.0.tar.gz: ${SHA}\n`);
  });

  it('chooses the source: by default none when one is pinned; --source any, named when out of range', () => {
    const parsed = parseSourceRecipe(readFileSync(recipe, 'utf8'), recipe);
    expect(choosePin(parsed, recipe, {}, {}, env)).toMatchObject({ kind: 'download', file: 'tool-2.0.tar.gz' });
    expect(choosePin(parsed, recipe, { release: '1.0' }, {}, env)).toMatchObject({ kind: 'pinned', source: { file: 'tool-1.0.tar.gz' } });
    expect(choosePin(parsed, recipe, { release: '1.0', source: 2 }, {}, env)).toMatchObject({ kind: 'download', file: 'tool-1.0.tar.bz2' });
    expect(() => choosePin(parsed, recipe, { release: '1.0', source: 3 }, {}, env)).toThrow('tool 1.0 has 2 source(s), so no source 3');
    expect(() => choosePin(parsed, recipe, { release: '9' }, {}, env)).toThrow('unknown tool version 9 (known: 2.0, 1.0)');
  });

  it('parses its arguments', () => {
    expect(parsePinArgs(['r.yaml', '--release', '7.4.7', '--source=2', '-y'])).toEqual({
      recipe: 'r.yaml',
      release: '7.4.7',
      source: 2,
      yes: true,
      help: false,
    });
    expect(parsePinArgs(['--help'])).toMatchObject({ help: true });
    expect(() => parsePinArgs(['r.yaml', '--source', 'first'])).toThrow('--source takes the number of a source (1 for the first), not "first"');
    expect(() => parsePinArgs(['r.yaml', '--force'])).toThrow('unknown option --force');
    expect(() => parsePinArgs(['r.yaml', '--release'])).toThrow('--release needs a value');
  });
});
