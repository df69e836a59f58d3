import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseSiteSources, type SiteSources } from '../definitions/site-sources';
import type { PinnedSource } from '../definitions/source-recipe';
import { sha256File } from '../utils/digest';
import { PharosError } from '../utils/errors';
import { pharosCacheDir } from '../utils/paths';
import { keepAside, keptDigests, keptName, mismatchVerdict, pinLocation, recordVerified, verifiedDigests } from './source-cache';

/**
 * The one way third-party sources reach a build: a source cache outside the repo, filled from (in order) the user's
 * mirrors, upstream, and Debian's orig tarball, every file checked against its pinned sha256 before anything uses it.
 * Downloads resume from a `.part` file. A file whose digest is wrong is never used and never deleted: see source-cache.ts.
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
    const label = source.location.kind === 'debian-orig' ? `Debian orig of ${pkg}` : `Debian source package ${pkg}`;
    out.push({ label, url: `${debianMirror}/pool/main/${poolPrefix(pkg)}/${pkg}/${source.file}` });
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

/** A source that could not be had from one place (no file, HTTP error, no route): the next place is tried. */
export class Unreachable extends Error {}

const IDLE_TIMEOUT_MS = 30_000;

/** Downloads `url` into `part`, continuing a partial file with an HTTP range request. */
export async function download(url: string, part: string, log: (t: string) => void): Promise<void> {
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
  /** The recipe that pins the sources, as shown to the user; read (from the working directory) for a pin's line. */
  recipeFile?: string;
  log?: (t: string) => void;
  /** The time a verification is recorded at (tests fix it). */
  now?: () => Date;
}

type Pinned = PinnedSource & { sha256: string };

interface FetchContext {
  what: string;
  cacheDir: string;
  recipeFile?: string;
  log: (t: string) => void;
  now: () => Date;
}

interface Mismatch {
  source: Pinned;
  /** What did not match: "cached x.tar.gz", "x.tar.gz from <url>". */
  subject: string;
  actual: string;
  /** Where the copy that did not match is kept. */
  kept: string;
  /** It came from a download just now (so downloading again is no advice). */
  downloaded: boolean;
}

/** Where a person edits the pin of a source: the line of the recipe or sources config that holds the digest. */
function pinWhere(source: Pinned, ctx: FetchContext): { file?: string; line?: number; shown: string } {
  const at = pinLocation(source.file, source.sha256, [...(ctx.recipeFile ? [ctx.recipeFile] : []), sourcesConfigFile()]);
  if (at) return { ...at, shown: `${at.file}:${at.line}` };
  return { file: ctx.recipeFile, shown: ctx.recipeFile ?? `the recipe (or the sources config) that pins ${source.file}` };
}

/** Blames the pin or the file, and says how to go on without network. */
function mismatchError(m: Mismatch, ctx: FetchContext): PharosError {
  const { file, sha256: pin } = m.source;
  const matchedAt = verifiedDigests(ctx.cacheDir, file)[m.actual];
  const where = pinWhere(m.source, ctx);
  const goodCopy = `put a good copy (sha256 ${pin}) at ${join(ctx.cacheDir, file)} or on a mirror in ${SOURCE_MIRRORS_ENV} (e.g. file:///srv/mirror holding ${file})`;
  const getGood = m.downloaded ? goodCopy : `run the fetch again to download a good copy, or, offline, ${goodCopy}`;
  const next = matchedAt
    ? `if the pin was mistyped, set it back to ${m.actual} at ${where.shown}: this copy is kept as ${m.kept}, and fetch takes it from ` +
      `there, offline, once the pin says ${m.actual}. If the pin is right (upstream re-rolled the file), ${getGood}`
    : `${getGood}. This copy is kept as ${m.kept} for inspection; if you checked it by your own means, the pin at ${where.shown} is what to fix`;
  return new PharosError(`${m.subject} does not match its pin: ${mismatchVerdict(m.actual, pin, matchedAt)}`, {
    file: where.file,
    line: where.line,
    step: `fetch ${ctx.what}`,
    next,
  });
}

/**
 * The pinned copy from the cache: `<file>`, or a copy kept under the pinned digest (a pin set back after a typo). A
 * copy that does not match is kept aside under its own digest, and stops the fetch unless a kept copy matches.
 */
async function fromCache(source: Pinned, ctx: FetchContext): Promise<FetchedSource | undefined> {
  const cached = join(ctx.cacheDir, source.file);
  const mismatches: { path: string; actual: string }[] = [];
  for (const path of [cached, join(ctx.cacheDir, keptName(source.file, source.sha256))]) {
    if (!existsSync(path)) continue;
    const actual = await sha256File(path);
    if (actual !== source.sha256) {
      mismatches.push({ path, actual });
      continue;
    }
    for (const m of mismatches)
      ctx.log(`${basename(m.path)} does not match the pin: kept as ${await keepAside(ctx.cacheDir, source.file, m.path, m.actual)}\n`);
    if (path !== cached) {
      await rename(path, cached);
      ctx.log(`the pin of ${source.file} names the copy kept as ${path}: using it\n`);
    }
    await recordVerified(ctx.cacheDir, source.file, actual, ctx.now());
    return { path: cached, file: source.file, sha256: actual, from: 'source cache' };
  }
  if (!mismatches.length) return undefined;
  const kept: string[] = [];
  for (const m of mismatches) kept.push(await keepAside(ctx.cacheDir, source.file, m.path, m.actual));
  const [first] = mismatches;
  throw mismatchError({ source, subject: `cached ${basename(first.path)}`, actual: first.actual, kept: kept[0], downloaded: false }, ctx);
}

/** Copies of the pinned files kept in the cache under other digests, each with its verdict, for the final error. */
function keptCopies(pinned: Pinned[], ctx: FetchContext): { lines: string[]; mistyped?: { source: Pinned; sha256: string } } {
  const lines: string[] = [];
  let mistyped: { source: Pinned; sha256: string } | undefined;
  for (const source of pinned) {
    const verified = verifiedDigests(ctx.cacheDir, source.file);
    for (const digest of keptDigests(ctx.cacheDir, source.file)) {
      lines.push(`${join(ctx.cacheDir, keptName(source.file, digest))} (source cache): ${mismatchVerdict(digest, source.sha256, verified[digest])}`);
      if (verified[digest]) mistyped ??= { source, sha256: digest };
    }
  }
  return { lines, mistyped };
}

/**
 * Returns a verified source file from the cache, downloading it first when needed. Sources are tried in recipe
 * order; an unreachable one moves on to the next; a digest mismatch stops everything, and never removes a copy.
 */
export async function fetchSource(req: FetchRequest): Promise<FetchedSource> {
  const cacheDir = req.cacheDir ?? sourceCacheDir();
  const mirrors = req.mirrors ?? configuredMirrors();
  const ctx: FetchContext = { what: req.what, cacheDir, recipeFile: req.recipeFile, log: req.log ?? (() => undefined), now: req.now ?? (() => new Date()) };
  await mkdir(cacheDir, { recursive: true });
  const pinned = req.sources.filter((s): s is Pinned => !!s.sha256);

  for (const source of pinned) {
    const found = await fromCache(source, ctx);
    if (found) return found;
  }

  const unpinned = req.sources.filter((s) => !s.sha256);
  const kept = keptCopies(pinned, ctx);
  const tried: string[] = [...unpinned.map((s) => `${s.file}: skipped, no pinned sha256${s.note ? ` (${s.note})` : ''}`), ...kept.lines];
  for (const source of pinned) {
    const dest = join(cacheDir, source.file);
    const part = `${dest}.part`;
    for (const candidate of sourceCandidates(source, mirrors, req.debianMirror)) {
      ctx.log(`fetch ${source.file} from ${candidate.label}: ${candidate.url}\n`);
      try {
        await download(candidate.url, part, ctx.log);
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err;
        tried.push(`${candidate.url} (${candidate.label}): ${err.message}`);
        continue;
      }
      const actual = await sha256File(part);
      if (actual !== source.sha256) {
        const keptAs = await keepAside(cacheDir, source.file, part, actual);
        throw mismatchError({ source, subject: `${source.file} from ${candidate.url}`, actual, kept: keptAs, downloaded: true }, ctx);
      }
      await rename(part, dest);
      await recordVerified(cacheDir, source.file, actual, ctx.now());
      ctx.log(`verified ${source.file} (sha256 ${actual})\n`);
      return { path: dest, file: source.file, sha256: actual, from: candidate.url };
    }
  }

  const first = pinned[0];
  const setBack = kept.mistyped
    ? `if the pin of ${kept.mistyped.source.file} was mistyped, set it back to ${kept.mistyped.sha256} at ` +
      `${pinWhere(kept.mistyped.source, ctx).shown} (the cache keeps the copy that matched it); otherwise `
    : '';
  throw new PharosError(`no source of ${req.what} could be fetched. Tried:\n    ${tried.join('\n    ')}`, {
    step: `fetch ${req.what}`,
    next: first
      ? `${setBack}place ${first.file} (sha256 ${first.sha256}) in ${cacheDir}/, or set ${SOURCE_MIRRORS_ENV}="<URL or file:///dir> …" ` +
        `to mirrors that hold it (or list them under "mirrors:" in ${sourcesConfigFile()})`
      : `no source of ${req.what} has a pinned sha256. Get ${unpinned.map((s) => s.file).join(' or ')} ` +
        `(${unpinned.map((s) => (s.location.kind === 'url' ? s.location.url : `Debian's ${s.location.kind === 'debian-orig' ? 'orig of ' : 'source package '}${s.location.package}`)).join(', ')}), ` +
        `check it by your own means, put it in ${cacheDir}/ (or on a mirror in ${SOURCE_MIRRORS_ENV}) and pin its sha256 under "pins:" in ${sourcesConfigFile()} ` +
        `(e.g. pins: { ${unpinned[0]?.file}: <sha256sum> }), or in the recipe`,
  });
}
