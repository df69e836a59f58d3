import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseSiteSources, type SiteSources } from '../definitions/site-sources';
import type { PinnedSource } from '../definitions/source-recipe';
import { sha256File } from '../utils/digest';
import { PharosError } from '../utils/errors';
import { pharosCacheDir } from '../utils/paths';

/**
 * The one way third-party sources reach a build: a source cache outside the repo, filled from (in order) the user's
 * mirrors, upstream, and Debian's orig tarball, every file checked against its pinned sha256 before anything uses it.
 * Downloads resume from a `.part` file; a file whose digest is wrong is moved aside, never used.
 */

export const SOURCE_MIRRORS_ENV = 'PHAROS_SOURCE_MIRRORS';
export const SOURCES_CONFIG_ENV = 'PHAROS_SOURCES_CONFIG';

export interface FetchCandidate {
  label: string;
  url: string;
}

/** Debian's pool layout: `lib*` packages are filed under four letters, the rest under one. */
export function poolPrefix(pkg: string): string {
  return pkg.startsWith('lib') ? pkg.slice(0, 4) : pkg[0];
}

export function sourceCandidates(source: PinnedSource, mirrors: string[], debianMirror: string | undefined): FetchCandidate[] {
  const out = mirrors.map((m) => ({ label: `mirror ${m}`, url: `${m.replace(/\/+$/, '')}/${source.file}` }));
  if (source.location.kind === 'url') out.push({ label: 'upstream', url: source.location.url });
  else if (debianMirror) {
    const pkg = source.location.package;
    out.push({ label: `Debian orig of ${pkg}`, url: `${debianMirror}/pool/main/${poolPrefix(pkg)}/${pkg}/${source.file}` });
  }
  return out;
}

export function sourcesConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env[SOURCES_CONFIG_ENV] || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'pharos', 'sources.yaml');
}

function readSourcesConfig(env: NodeJS.ProcessEnv): SiteSources {
  const file = sourcesConfigFile(env);
  return existsSync(file) ? parseSiteSources(readFileSync(file, 'utf8'), file) : { mirrors: [], pins: {} };
}

/** Mirrors from the environment (space- or comma-separated) first, then the config file's `mirrors:` list. */
export function configuredMirrors(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env[SOURCE_MIRRORS_ENV] ?? '').split(/[\s,]+/).filter(Boolean);
  return [...fromEnv, ...readSourcesConfig(env).mirrors];
}

/**
 * A site's own digests for sources the recipe could not pin (`pins:` in the sources config, file name → sha256): an
 * air-gapped site checks a tarball once, by its own means, and pins it there without editing the recipe.
 */
export function configuredPins(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return readSourcesConfig(env).pins;
}

/** The recipe's sources with the site's pins filled in where the recipe has none. A pin never overrides the recipe. */
export function withSitePins(sources: PinnedSource[], pins: Record<string, string>, env: NodeJS.ProcessEnv = process.env): PinnedSource[] {
  return sources.map((s) => {
    const pin = pins[s.file];
    if (!pin || s.sha256 === pin) return s;
    if (s.sha256) {
      throw new PharosError(`the sources config pins ${s.file} to ${pin}, but the recipe pins ${s.sha256}`, {
        file: sourcesConfigFile(env),
        next: `remove the pin of ${s.file}: the recipe's digest is the one that is checked`,
      });
    }
    return { ...s, sha256: pin, note: `pinned by ${sourcesConfigFile(env)}` };
  });
}

export function sourceCacheDir(): string {
  return pharosCacheDir('sources');
}

/** Moves a file whose digest is wrong out of the way (named after `name`), keeping it for inspection. */
async function moveAside(path: string, name = path): Promise<string> {
  const aside = `${name}.bad-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(path, aside);
  return aside;
}

class Unreachable extends Error {}

const IDLE_TIMEOUT_MS = 30_000;

/** Downloads `url` into `part`, continuing a partial file with an HTTP range request. */
async function download(url: string, part: string, log: (t: string) => void): Promise<void> {
  if (url.startsWith('file://')) {
    const path = decodeURIComponent(new URL(url).pathname);
    if (!existsSync(path)) throw new Unreachable('no such file');
    await copyFile(path, part);
    return;
  }
  const have = existsSync(part) ? statSync(part).size : 0;
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(), IDLE_TIMEOUT_MS);
  try {
    let res: Response;
    try {
      res = await fetch(url, { headers: have ? { Range: `bytes=${have}-` } : {}, signal: abort.signal, redirect: 'follow' });
    } catch (err) {
      throw new Unreachable((err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message);
    }
    if (res.status === 416 && have) return; // the partial file is already whole; the digest decides
    if (res.status !== 200 && res.status !== 206) throw new Unreachable(`HTTP ${res.status}`);
    const append = res.status === 206;
    if (have) log(append ? `resuming at ${have} bytes\n` : 'the server ignored the range request; starting over\n');
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    body.on('data', () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), IDLE_TIMEOUT_MS);
    });
    await pipeline(body, createWriteStream(part, { flags: append ? 'a' : 'w' })).catch((err: Error) => {
      throw new Unreachable(`download interrupted (${err.message}); the partial file is kept for resuming`);
    });
  } finally {
    clearTimeout(idle);
  }
}

export interface FetchedSource {
  path: string;
  file: string;
  sha256: string;
  from: string;
}

export interface FetchRequest {
  /** What is being fetched, for messages, e.g. "slurm 24.11.5". */
  what: string;
  sources: PinnedSource[];
  cacheDir?: string;
  mirrors?: string[];
  debianMirror?: string;
  log?: (t: string) => void;
}

/**
 * Returns a verified source file from the cache, downloading it first when needed. Sources are tried in recipe
 * order; an unreachable one moves on to the next; a digest mismatch stops everything.
 */
export async function fetchSource(req: FetchRequest): Promise<FetchedSource> {
  const cacheDir = req.cacheDir ?? sourceCacheDir();
  const mirrors = req.mirrors ?? configuredMirrors();
  const log = req.log ?? (() => undefined);
  await mkdir(cacheDir, { recursive: true });
  const pinned = req.sources.filter((s) => s.sha256);

  for (const source of pinned) {
    const cached = join(cacheDir, source.file);
    if (!existsSync(cached)) continue;
    const actual = await sha256File(cached);
    if (actual === source.sha256) return { path: cached, file: source.file, sha256: actual, from: 'source cache' };
    const aside = await moveAside(cached);
    throw new PharosError(`cached ${source.file} has sha256 ${actual}, the recipe pins ${source.sha256}; moved aside to ${aside}`, {
      file: cached,
      step: `fetch ${req.what}`,
      next: 'run the fetch again to download a good copy, or place a verified copy there',
    });
  }

  const unpinned = req.sources.filter((s) => !s.sha256);
  const tried: string[] = unpinned.map((s) => `${s.file}: skipped, no pinned sha256${s.note ? ` (${s.note})` : ''}`);
  for (const source of pinned) {
    const dest = join(cacheDir, source.file);
    const part = `${dest}.part`;
    for (const candidate of sourceCandidates(source, mirrors, req.debianMirror)) {
      log(`fetch ${source.file} from ${candidate.label}: ${candidate.url}\n`);
      try {
        await download(candidate.url, part, log);
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err;
        tried.push(`${candidate.url} (${candidate.label}): ${err.message}`);
        continue;
      }
      const actual = await sha256File(part);
      if (actual !== source.sha256) {
        const aside = await moveAside(part, dest);
        throw new PharosError(`${candidate.url} gave sha256 ${actual}, the recipe pins ${source.sha256}`, {
          step: `fetch ${req.what}`,
          next: `the download is kept at ${aside} for inspection; if upstream re-rolled the file, verify it and update the recipe's sha256`,
        });
      }
      await rename(part, dest);
      log(`verified ${source.file} (sha256 ${actual})\n`);
      return { path: dest, file: source.file, sha256: actual, from: candidate.url };
    }
  }

  const first = pinned[0];
  throw new PharosError(`no source of ${req.what} could be fetched. Tried:\n    ${tried.join('\n    ')}`, {
    step: `fetch ${req.what}`,
    next: first
      ? `place ${first.file} (sha256 ${first.sha256}) in ${cacheDir}/, or set ${SOURCE_MIRRORS_ENV}="<URL or file:///dir> …" ` +
        `to mirrors that hold it (or list them under "mirrors:" in ${sourcesConfigFile()})`
      : `no source of ${req.what} has a pinned sha256. Get ${unpinned.map((s) => s.file).join(' or ')} ` +
        `(${unpinned.map((s) => (s.location.kind === 'url' ? s.location.url : `Debian's orig of ${s.location.package}`)).join(', ')}), ` +
        `check it by your own means, put it in ${cacheDir}/ (or on a mirror in ${SOURCE_MIRRORS_ENV}) and pin its sha256 under "pins:" in ${sourcesConfigFile()} ` +
        `(e.g. pins: { ${unpinned[0]?.file}: <sha256sum> }), or in the recipe`,
  });
}
