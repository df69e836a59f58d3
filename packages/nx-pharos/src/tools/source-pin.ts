import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { setSitePin } from '../definitions/site-sources';
import { parseSourceRecipe, recipeVersion, type PinnedSource, type RecipeVersion, type SourceRecipe } from '../definitions/source-recipe';
import { temporarySibling, writeAtomically } from '../utils/atomic-file';
import { onInterrupt } from '../utils/cleanup';
import { sha256File } from '../utils/digest';
import { PharosError } from '../utils/errors';
import { resolveDebianMirror } from './debian-mirror';
import { pinLocation, pinLine, recordVerified } from './source-cache';
import {
  configuredMirrors,
  configuredPins,
  download,
  SOURCE_MIRRORS_ENV,
  sourceCacheDir,
  sourceCandidates,
  sourcesConfigFile,
  Unreachable,
  withSitePins,
} from './source-fetch';

/**
 * `pharos pin`: onboarding a source the recipe lists as `sha256: unpinned`, for a site that can reach it. The file is
 * downloaded the way fetch would (source cache, mirrors, then the recipe's places) into a temporary file beside the
 * cache, its sha256 and size are shown, and only once a person confirms (or --yes) is the digest written to the site's
 * sources config and the file moved into the cache as verified. Until then nothing fetch would use has changed.
 */

export const PIN_USAGE = `usage: pharos pin <recipe.yaml> [--release <version>] [--source <n>] [--yes]

Downloads a source the recipe lists as "sha256: unpinned" (the source cache and the mirrors first, then the recipe's
URL), prints its sha256 and size, and once you confirm (or with --yes) pins it under "pins:" in the site's sources
config (PHAROS_SOURCES_CONFIG, default ~/.config/pharos/sources.yaml) and puts it in the source cache, verified.

options:
  --release <version>  the recipe's version (default: its defaultVersion)
  --source <n>         the n-th source of that version (default: the first, when none is pinned)
  -y, --yes            pin without asking (required without a terminal); check the printed sha256 yourself
  -h, --help           this text`;

export interface PinArgs {
  recipe?: string;
  release?: string;
  /** 1-based, in the version's `sources:` order. */
  source?: number;
  yes: boolean;
  help: boolean;
}

export function parsePinArgs(argv: string[]): PinArgs {
  const out: PinArgs = { yes: false, help: false };
  const refuse = (message: string) => new PharosError(message, { step: 'pin', next: 'see pharos pin --help' });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (!v) throw refuse(`${flag} needs a value`);
      return v;
    };
    if (flag === '-h' || flag === '--help') out.help = true;
    else if (flag === '-y' || flag === '--yes') out.yes = true;
    else if (flag === '--release') out.release = value();
    else if (flag === '--source') {
      const n = value();
      if (!/^[1-9][0-9]*$/.test(n)) throw refuse(`--source takes the number of a source (1 for the first), not "${n}"`);
      out.source = Number(n);
    } else if (flag.startsWith('-')) throw refuse(`unknown option ${arg}`);
    else if (out.recipe) throw refuse(`one recipe at a time (got ${out.recipe} and ${arg})`);
    else out.recipe = arg;
  }
  return out;
}

export type PinChoice =
  /** Download and pin `file`: `sources` are the version's unpinned sources of that file, tried in order. */
  | { kind: 'download'; version: RecipeVersion; file: string; sources: PinnedSource[] }
  /** Nothing to download: fetch already has a digest for `source` (the recipe's, or the site's). */
  | { kind: 'pinned'; version: RecipeVersion; source: PinnedSource & { sha256: string } };

/**
 * What to pin for a version: the source asked for, or, by default, the first one when the version has no pinned source
 * (with a pinned one, fetch needs nothing: pin another only when asked, with --source). `pins` are the site's.
 */
export function choosePin(
  recipe: SourceRecipe,
  recipeFile: string,
  args: Pick<PinArgs, 'release' | 'source'>,
  pins: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): PinChoice {
  const version = recipeVersion(recipe, args.release, recipeFile);
  const sources = withSitePins(version.sources, pins, env);
  const isPinned = (s: PinnedSource): s is PinnedSource & { sha256: string } => !!s.sha256;
  let chosen: PinnedSource;
  if (args.source !== undefined) {
    chosen = sources[args.source - 1];
    if (!chosen) {
      throw new PharosError(`${recipe.name} ${version.version} has ${sources.length} source(s), so no source ${args.source}`, {
        file: recipeFile,
        next: `pick one of: ${sources.map((s, i) => `--source ${i + 1} (${s.file})`).join(', ')}`,
      });
    }
  } else {
    const pinned = sources.find(isPinned);
    if (pinned) return { kind: 'pinned', version, source: pinned };
    chosen = sources[0];
  }
  if (isPinned(chosen)) return { kind: 'pinned', version, source: chosen };
  // A site pin applies to every version that names the file, so it must not contradict a digest the recipe pins.
  for (const v of Object.values(recipe.versions)) {
    const other = v.sources.find((s) => s.file === chosen.file && s.sha256);
    if (other) {
      throw new PharosError(`${recipe.name} ${v.version} in the recipe already pins ${chosen.file} to ${other.sha256}`, {
        file: recipeFile,
        next: `give source ${sources.indexOf(chosen) + 1} of ${version.version} the same sha256 in the recipe: a site pin could only repeat it`,
      });
    }
  }
  const group = args.source === undefined ? sources.filter((s) => s.file === chosen.file && !s.sha256) : [chosen];
  return { kind: 'download', version, file: chosen.file, sources: group };
}

interface PinDownload {
  path: string;
  from: string;
  sha256: string;
  size: number;
  /** Removes the temporary download, if it is still there (a no-op for a copy that was already in the cache). */
  discard: () => Promise<void>;
}

interface PinDownloadRequest {
  what: string;
  file: string;
  sources: PinnedSource[];
  cacheDir: string;
  mirrors: string[];
  debianMirror?: string;
  configFile: string;
  log: (text: string) => void;
}

/**
 * The file to pin: a copy a person placed in the source cache (fetch never puts an unpinned file there), else the
 * first place of fetch's order that has it, downloaded to a temporary sibling of the cache entry, never to the entry.
 */
async function downloadForPin(req: PinDownloadRequest): Promise<PinDownload> {
  const cached = join(req.cacheDir, req.file);
  if (existsSync(cached)) {
    req.log(`using the copy in the source cache: ${cached}\n`);
    return { path: cached, from: `source cache (${cached})`, sha256: await sha256File(cached), size: statSync(cached).size, discard: async () => undefined };
  }
  await mkdir(req.cacheDir, { recursive: true });
  const tmp = temporarySibling(cached);
  const discard = onInterrupt(() => rm(tmp, { force: true }));
  const tried: string[] = [];
  try {
    for (const source of req.sources) {
      for (const candidate of sourceCandidates(source, req.mirrors, req.debianMirror)) {
        req.log(`download ${req.file} from ${candidate.label}: ${candidate.url}\n`);
        // Without a digest to check, a partial file from another place must never be continued.
        await rm(tmp, { force: true });
        try {
          await download(candidate.url, tmp, req.log);
        } catch (err) {
          if (!(err instanceof Unreachable)) throw err;
          tried.push(`${candidate.url} (${candidate.label}): ${err.message}`);
          continue;
        }
        return { path: tmp, from: candidate.url, sha256: await sha256File(tmp), size: statSync(tmp).size, discard };
      }
    }
  } catch (err) {
    await discard();
    throw err;
  }
  await discard();
  throw new PharosError(
    `could not download ${req.file}. ${tried.length ? `Tried:\n    ${tried.join('\n    ')}` : 'No place to try: no mirror is configured and the recipe names no URL here.'}`,
    {
      step: `pin ${req.what}`,
      next:
        `where upstream cannot be reached, pin a copy you have: put it at ${cached} and run this again, or name a mirror that holds ` +
        `${req.file}: ${SOURCE_MIRRORS_ENV}=file:///<dir> (or an http(s) URL), or "mirrors:" in ${req.configFile}`,
    },
  );
}

/** Writes the pin into the sources config through a temporary sibling, keeping the file's mode; the pin's line. */
async function writeSitePin(configFile: string, file: string, sha256: string): Promise<number | undefined> {
  const target = existsSync(configFile) ? realpathSync(configFile) : configFile; // a linked config stays linked
  const before = existsSync(target) ? readFileSync(target, 'utf8') : '';
  const after = setSitePin(before, file, sha256, configFile);
  const mode = existsSync(target) ? statSync(target).mode & 0o7777 : undefined;
  await writeAtomically(target, async (tmp) => {
    await writeFile(tmp, after);
    if (mode !== undefined) await chmod(tmp, mode);
  });
  return pinLine(after, file, sha256);
}

export interface PinIo {
  out: (text: string) => void;
  /** Someone can answer a question (stdin is a terminal). */
  interactive: boolean;
  ask: (question: string) => Promise<string>;
}

export interface PinSettings {
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
  /** For a source in Debian's pool (`debian-orig`, `debian-pool`); undefined when it cannot be resolved. */
  debianMirror?: () => string | undefined;
  now?: () => Date;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The whole command; its exit code (0 pinned or nothing to do, 1 not confirmed). */
export async function pinSource(args: PinArgs, io: PinIo, settings: PinSettings = {}): Promise<number> {
  if (args.help) {
    io.out(`${PIN_USAGE}\n`);
    return 0;
  }
  const env = settings.env ?? process.env;
  const recipeFile = args.recipe;
  if (!recipeFile)
    throw new PharosError('name the recipe whose source to pin', { step: 'pin', next: 'pharos pin third-party/<name>/recipe.yaml (see --help)' });
  let text: string;
  try {
    text = readFileSync(recipeFile, 'utf8');
  } catch (err) {
    throw new PharosError(`cannot read ${recipeFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      step: 'pin',
      next: 'give the path of a recipe.yaml, e.g. third-party/beegfs/recipe.yaml',
    });
  }
  const recipe = parseSourceRecipe(text, recipeFile);
  const configFile = sourcesConfigFile(env);
  const choice = choosePin(recipe, recipeFile, args, configuredPins(env), env);
  const what = `${recipe.name} ${choice.version.version}`;
  if (choice.kind === 'pinned') {
    const { file, sha256 } = choice.source;
    const at = pinLocation(file, sha256, [recipeFile, configFile]);
    io.out(
      `${what}: ${file} is pinned already (sha256 ${sha256}${at ? `, ${at.file}:${at.line}` : ''}); nothing to pin\n  next: npx nx run ${recipe.name}:fetch\n`,
    );
    return 0;
  }
  // Asked before the download: without a terminal nobody could confirm what it brings.
  if (!args.yes && !io.interactive) {
    throw new PharosError(`${choice.file} not pinned: there is no terminal to confirm its sha256 on`, {
      step: `pin ${what}`,
      next: `run it in a terminal, or add --yes to pin what it downloads (then check the printed sha256 against upstream's by your own means)`,
    });
  }
  const cacheDir = settings.cacheDir ?? sourceCacheDir();
  const needsDebian = choice.sources.some((s) => s.location.kind !== 'url');
  const debianMirror = needsDebian ? (settings.debianMirror ?? defaultDebianMirror)() : undefined;
  const got = await downloadForPin({
    what,
    file: choice.file,
    sources: choice.sources,
    cacheDir,
    mirrors: configuredMirrors(env),
    debianMirror,
    configFile,
    log: io.out,
  });
  try {
    io.out(`${what}: ${choice.file}\n  from    ${got.from}\n  sha256  ${got.sha256}\n  size    ${got.size} bytes (${mib(got.size)})\n`);
    if (!args.yes) {
      const answer = await io.ask(`Pin ${choice.file} to this sha256 in ${configFile}? Compare it with upstream's published digest first. [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) {
        io.out(
          `not pinned: ${configFile} and the source cache are unchanged${got.path === join(cacheDir, choice.file) ? '' : ', and the download is removed'}\n`,
        );
        return 1;
      }
    }
    const line = await writeSitePin(configFile, choice.file, got.sha256);
    const cached = join(cacheDir, choice.file);
    if (got.path !== cached) await rename(got.path, cached);
    await recordVerified(cacheDir, choice.file, got.sha256, (settings.now ?? (() => new Date()))());
    io.out(
      `pinned ${choice.file} at ${configFile}${line ? `:${line}` : ''}; verified in the source cache: ${cached}\n  next: npx nx run ${recipe.name}:fetch\n`,
    );
    return 0;
  } finally {
    await got.discard();
  }
}

function defaultDebianMirror(): string | undefined {
  try {
    return resolveDebianMirror();
  } catch {
    return undefined; // the error then lists what was tried, and how to supply the file
  }
}

/** `pharos pin …` on this process's terminal. */
export async function pinCli(argv: string[]): Promise<number> {
  const io: PinIo = {
    out: (t) => process.stdout.write(t),
    interactive: !!process.stdin.isTTY,
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const abort = new AbortController();
      rl.on('SIGINT', () => abort.abort()); // Ctrl-C at the prompt is a no
      try {
        return await rl.question(question, { signal: abort.signal });
      } catch {
        process.stdout.write('\n');
        return '';
      } finally {
        rl.close();
      }
    },
  };
  return pinSource(parsePinArgs(argv), io);
}
