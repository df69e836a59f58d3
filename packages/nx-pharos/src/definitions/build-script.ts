import { PharosError } from '../utils/errors';
import { compareVersions } from '../utils/version-order';
import { OVERLAY_NAME, OVERLAY_VERSION } from './overlay-path';
import { readSchedulerDirectives, type DirectiveLine, type Scheduler, type SchedulerDirectives } from './scheduler-resources';
import type { SourceLocation } from './source-recipe';

/**
 * The header of an overlay build script (`containers/overlays/<name>/<version>.sh`), read the way condatainer reads
 * it, so a script written for condatainer keeps its header unchanged: a directive is a line that starts at column 0
 * with `#KEY:` (or `#SBATCH`, `#PBS`, `#BSUB`), anywhere in the file; an indented one is an ordinary comment. Pure:
 * text and file path in, data out; a mistake is a PharosError naming the file and line.
 *
 * Read: `#DEP:`, `#SBATCH`/`#PBS`/`#BSUB` (scheduler-resources.ts), `#ENV:` with `#ENVNOTE:` on the next line,
 * `#WHATIS:`, `#URL:` (shown by `pharos info`), `#INTERACTIVE:`, `#TYPE:`, and Pharos's own `#SRC:<url> sha256:<hex>` (or
 * `#SRC:debian-orig:<package>/<file> sha256:<hex>`, a file of the Debian archive's pool, wherever this host's archive is),
 * `#NETWORK:yes` (install() runs with the network) and `#ANSWERS:sha256:<hex>` (the digest of the answers to the
 * #INTERACTIVE: prompts, when they are kept outside the tree). condatainer's newer spellings
 * are read too: `#DESC:` for `#WHATIS:`, `{prefix}` for `$app_root`, and an `## note` after an `#ENV:` value for its
 * `#ENVNOTE:`. A trailing `#` comment is stripped from the structured directives (DEP, ENV, SRC, TYPE and the
 * scheduler lines, NETWORK, ANSWERS); the free-text ones (WHATIS, DESC, URL, ENVNOTE, INTERACTIVE) are kept whole, as condatainer keeps them.
 * A directive repeated exactly is ignored; one that contradicts an earlier line is an error naming both.
 *
 * condatainer directives Pharos does not support (UNSUPPORTED below; docs/overlays.md says why):
 * - `#PH:`/`#PL:` and `#TARGET:` (templates that expand to many versions): one script per version here, since each
 *   version is an Nx project with its own cache entry.
 * - `#SOURCE:` (fetch a URL, or ask for one): sources are `#SRC:` lines pinned by sha256 and fetched offline.
 * - `#INPUT:`: `#INTERACTIVE:` is the one way to ask, answered from a file (`<version>.answers`, or one under
 *   `$PHAROS_ANSWERS_DIR`), never a TTY.
 * Metadata Pharos does not use is left as ordinary comments: `#LICENSE:`, `#REDISTRIBUTE:`, `#ARCH:`,
 * `#AUTOUPDATE:`. condatainer's `module load`/`ml` lines as dependencies are not read: only `#DEP:` makes an edge.
 */

export interface DepRequirement {
  name: string;
  /** The version named; with a range, the newest the script accepts. */
  version: string;
  /** `>=min` or `>min`: any version of `name` from `min` up to `version` will do; the newest in the tree is used. */
  range?: { op: '>=' | '>'; min: string };
  line: number;
  /** As written after `#DEP:`, without its comment: `samtools/1.21>=1.10`. */
  text: string;
}

export interface EnvVar {
  key: string;
  /** As written; `$app_root` (or condatainer's `{prefix}`) is the overlay's install prefix (expandEnvValue). */
  value: string;
  note?: string;
  line: number;
}

export interface InteractivePrompt {
  /** `\n` in the directive is a line break here, as condatainer prints it. */
  prompt: string;
  line: number;
}

/** A source the build needs, fetched and checked against its digest before install() runs. */
export interface ScriptSource {
  /**
   * A URL, or a Debian source package whose pool holds the file: the archive's host is the site's (its mirror, from
   * the host's apt sources), so a script never names one.
   */
  location: SourceLocation;
  sha256: string;
  /** The URL's last path segment, or the pool file's name: the name the fetched file gets. */
  file: string;
  line: number;
}

/** A source as its `#SRC:` line writes it, without the digest. */
export function sourceText(source: Pick<ScriptSource, 'location' | 'file'>): string {
  return source.location.kind === 'url' ? source.location.url : `${DEBIAN_ORIG}${source.location.package}/${source.file}`;
}

/** condatainer's two script types: an app (128K SquashFS blocks) or reference data (1M blocks). */
export type OverlayType = 'app' | 'data';

export interface BuildScript {
  file: string;
  type: OverlayType;
  whatis?: string;
  /** `#URL:`, the project's home page; only shown (`pharos info`). */
  url?: string;
  deps: DepRequirement[];
  env: EnvVar[];
  interactive: InteractivePrompt[];
  sources: ScriptSource[];
  scheduler: SchedulerDirectives;
  /**
   * `#NETWORK:yes`: install() runs with the network (Docker's default bridge) instead of none. Absent, or `#NETWORK:no`,
   * the build has no network at all.
   */
  network?: { line: number };
  /**
   * `#ANSWERS:sha256:<hex>`: the digest of the answers file, so answers kept outside the tree (a licence key) are in the
   * build's key through the script (lib/overlay/answers.ts).
   */
  answers?: { sha256: string; line: number };
  /** Where `install()` is defined. */
  installLine: number;
}

/** condatainer directives a script may not carry here, with what to write instead. */
export const UNSUPPORTED_DIRECTIVES: Record<string, { why: string; next: string }> = {
  PH: {
    why: 'templates (#PH:, #TARGET:) that expand one script into many versions are not supported: each version is its own Nx project',
    next: 'write one script per version, containers/overlays/<name>/<version>.sh',
  },
  PL: {
    why: 'templates (#PL:, #TARGET:) that expand one script into many versions are not supported: each version is its own Nx project',
    next: 'write one script per version, containers/overlays/<name>/<version>.sh',
  },
  TARGET: {
    why: '#TARGET: names the overlay, which here is its path, containers/overlays/<name>/<version>.sh',
    next: 'remove the line and put the script at the path of the overlay it builds',
  },
  SOURCE: {
    why: "#SOURCE: is condatainer's download; Pharos builds offline from sources pinned by digest",
    next: 'write #SRC:<url> sha256:<64 hex digits> (http, https or file URL)',
  },
  INPUT: {
    why: "#INPUT: is condatainer's newer prompt; Pharos reads #INTERACTIVE:",
    next: 'write #INTERACTIVE:<prompt>',
  },
};

/** Throws a PharosError at the line being read; typed so that TypeScript narrows after a call. */
type Fail = (message: string, next?: string) => never;

const DEBIAN_ORIG = 'debian-orig:';
/** A Debian source package name (Debian Policy 5.6.1). */
const DEBIAN_SOURCE_PACKAGE = /^[a-z0-9][a-z0-9.+-]+$/;
const SCHEDULER_LINE = /^#(SBATCH|PBS|BSUB)(?=\s|$)(.*)$/;
const SCHEDULER_OF: Record<string, Scheduler> = { SBATCH: 'slurm', PBS: 'pbs', BSUB: 'lsf' };
const DIRECTIVE = /^#([A-Z]+):(.*)$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INSTALL = /^\s*(?:function\s+install\b|install\s*\(\s*\))/;
/** An overlay image rather than a name/version: condatainer lets a script it runs (not one it builds) mount one. */
const OVERLAY_FILE = /(^\.{0,2}\/)|\.(sqf|squashfs|img|sif)$/;

/** The value before a trailing `#` comment, and the comment (from its `#`). */
function splitComment(value: string): [string, string] {
  const hash = value.indexOf('#');
  return hash < 0 ? [value.trim(), ''] : [value.slice(0, hash).trim(), value.slice(hash)];
}

/** `$app_root`, `${app_root}` and `{prefix}` replaced by the overlay's install prefix. */
export function expandEnvValue(value: string, appRoot: string): string {
  return value.replace(/\$\{app_root\}|\$app_root\b|\{prefix\}/g, () => appRoot);
}

function parseDep(text: string, fail: Fail): Omit<DepRequirement, 'line'> {
  if (!text) fail('#DEP: names nothing', 'write #DEP:<name>/<version>');
  if (OVERLAY_FILE.test(text)) {
    fail(
      `#DEP:${text} names an overlay file; a build script's #DEP names what it needs as <name>/<version>`,
      'write #DEP:<name>/<version>, the path of its script',
    );
  }
  const range = /^(.*?)(>=|>)(.*)$/.exec(text);
  // condatainer reads name=version, name@version and name--version as name/version.
  const nameVersion = (range ? range[1] : text).trim().replace(/=|@|--/g, '/');
  const slash = nameVersion.lastIndexOf('/');
  if (slash < 0) fail(`#DEP:${text} names no version`, `write #DEP:${nameVersion}/<version>`);
  const name = nameVersion.slice(0, slash);
  const version = nameVersion.slice(slash + 1);
  if (name.includes('/')) {
    fail(
      `#DEP:${text}: "${name}" is not an overlay name; overlays are containers/overlays/<name>/<version>.sh, one folder per name`,
      "condatainer's <assembly>/<datatype>/<version> data names are not supported; name the data overlay <name>/<version>",
    );
  }
  if (!OVERLAY_NAME.test(name)) fail(`#DEP:${text}: "${name}" is not an overlay name (a letter, then letters, digits and . _ + -)`);
  if (!OVERLAY_VERSION.test(version)) fail(`#DEP:${text}: "${version}" is not a version (letters, digits and . _ + ~ -)`);
  if (!range) return { name, version, text };
  const op = range[2] as '>=' | '>';
  const min = range[3].trim();
  if (!OVERLAY_VERSION.test(min)) fail(`#DEP:${text}: "${min}" is not a version (letters, digits and . _ + ~ -)`);
  const order = compareVersions(min, version);
  if (order > 0 || (order === 0 && op === '>')) {
    fail(
      `#DEP:${text} accepts versions ${op} ${min} up to ${version}, and no version is both`,
      `the version before ${op} is the newest accepted; write it above ${min}`,
    );
  }
  return { name, version, range: { op, min }, text };
}

function parseSource(value: string, fail: Fail): Omit<ScriptSource, 'line'> {
  const form = 'write #SRC:<url> sha256:<64 lower-case hex digits>, or #SRC:debian-orig:<source package>/<file> sha256:<hex>';
  const [where, digest, ...rest] = value.split(/\s+/).filter(Boolean);
  if (!where || !digest || rest.length) fail(`#SRC:${value} is not "<url> sha256:<hex>"`, form);
  const sha = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (where.startsWith(DEBIAN_ORIG)) {
    const [pkg, file, ...more] = where.slice(DEBIAN_ORIG.length).split('/');
    if (!pkg || !file || more.length) fail(`#SRC: "${where}" is not debian-orig:<source package>/<file>`, form);
    if (!DEBIAN_SOURCE_PACKAGE.test(pkg)) fail(`#SRC: "${pkg}" is not a Debian source package name (lower case, digits and . + -)`, form);
    if (file === '.' || file === '..') fail(`#SRC: "${where}" does not end in a file name`, form);
    if (!sha) fail(`#SRC: "${digest}" is not sha256: followed by 64 lower-case hex digits`, `${form}; apt-cache showsrc ${pkg} lists each file's sha256`);
    return { location: { kind: 'debian-orig', package: pkg }, sha256: sha[1], file };
  }
  const url = where;
  if (!/^(https?|file):\/\/\S+$/.test(url)) fail(`#SRC: "${url}" is not an http, https or file URL, nor debian-orig:<package>/<file>`, form);
  if (!sha) fail(`#SRC: "${digest}" is not sha256: followed by 64 lower-case hex digits`, `${form}; sha256sum prints the digest`);
  let file: string;
  try {
    file = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    fail(`#SRC: "${url}" is not a URL Pharos can read`, form);
  }
  if (!file || file === '.' || file === '..' || file.includes('/')) fail(`#SRC: "${url}" does not end in a file name`, form);
  return { location: { kind: 'url', url }, sha256: sha[1], file };
}

/** A single-valued directive seen twice: the same value is ignored, another one is an error naming both lines. */
function once<T>(had: { value: T; line: number } | undefined, value: T, what: string, fail: Fail): boolean {
  if (!had) return true;
  if (had.value !== value) fail(`${what} "${value}" contradicts line ${had.line} ("${had.value}")`, 'keep one of the two lines');
  return false;
}

/** A note on an #ENV: (its #ENVNOTE: or inline ## note); `notes` holds the line each entry's note came from. */
function addNote(notes: Map<EnvVar, number>, entry: EnvVar, note: string, line: number, fail: Fail): void {
  const had = notes.get(entry);
  if (had !== undefined && entry.note !== note) fail(`the note on ${entry.key} contradicts line ${had} ("${entry.note}")`, 'keep one note per #ENV:');
  if (had === undefined) {
    entry.note = note;
    notes.set(entry, line);
  }
}

export function parseBuildScript(text: string, file: string): BuildScript {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const deps: DepRequirement[] = [];
  const env = new Map<string, EnvVar>();
  const interactive: InteractivePrompt[] = [];
  const sources: ScriptSource[] = [];
  const directives: DirectiveLine[] = [];
  let whatis: { value: string; line: number } | undefined;
  let url: { value: string; line: number } | undefined;
  let type: { value: OverlayType; line: number } | undefined;
  let network: { value: string; line: number } | undefined;
  let answers: { value: string; line: number } | undefined;
  let lastEnv: { entry: EnvVar; line: number } | undefined;
  const notes = new Map<EnvVar, number>();
  let installLine: number | undefined;

  lines.forEach((raw, index) => {
    const line = index + 1;
    const fail: Fail = (message, next) => {
      throw new PharosError(message, { file, line, ...(next ? { next } : {}) });
    };
    if (!raw.startsWith('#')) {
      if (installLine === undefined && INSTALL.test(raw)) installLine = line;
      return;
    }
    const scheduler = SCHEDULER_LINE.exec(raw);
    if (scheduler) {
      directives.push({ scheduler: SCHEDULER_OF[scheduler[1]], text: scheduler[2], line });
      return;
    }
    const directive = DIRECTIVE.exec(raw);
    if (!directive) return;
    const [, key, rest] = directive;
    const unsupported = UNSUPPORTED_DIRECTIVES[key];
    if (unsupported) fail(`#${key}: ${unsupported.why}`, unsupported.next);
    switch (key) {
      case 'DEP': {
        const dep = { ...parseDep(splitComment(rest)[0], fail), line };
        if (!deps.some((d) => d.text === dep.text)) deps.push(dep);
        break;
      }
      case 'ENV': {
        const [value, comment] = splitComment(rest);
        const eq = value.indexOf('=');
        if (eq < 0) fail(`#ENV:${value} is not KEY=value`, 'write #ENV:KEY=value; $app_root is the overlay’s install prefix');
        const name = value.slice(0, eq).trim();
        if (!ENV_KEY.test(name)) fail(`#ENV: "${name}" is not an environment variable name`, 'use letters, digits and _, not starting with a digit');
        const entry: EnvVar = { key: name, value: value.slice(eq + 1).trim(), line };
        const had = env.get(name);
        if (had && had.value !== entry.value)
          fail(`#ENV:${name}=${entry.value} contradicts line ${had.line} (${name}=${had.value})`, 'keep one of the two lines');
        if (!had) env.set(name, entry);
        lastEnv = { entry: had ?? entry, line };
        // condatainer's newer spelling: `#ENV:KEY=value   ## note`.
        if (comment.startsWith('##')) addNote(notes, lastEnv.entry, comment.slice(2).trim(), line, fail);
        break;
      }
      case 'ENVNOTE': {
        if (!lastEnv || lastEnv.line !== line - 1)
          fail('#ENVNOTE: documents the #ENV: line just above it, and there is none', 'move it to the line after its #ENV:');
        addNote(notes, lastEnv.entry, rest.trim(), line, fail);
        break;
      }
      case 'WHATIS':
      case 'DESC': {
        const value = rest.trim();
        if (once(whatis, value, `#${key}:`, fail)) whatis = { value, line };
        break;
      }
      case 'URL': {
        const value = rest.trim();
        if (value && once(url, value, '#URL:', fail)) url = { value, line };
        break;
      }
      case 'TYPE': {
        const value = splitComment(rest)[0].toLowerCase();
        if (value !== 'app' && value !== 'data') fail(`#TYPE:${value} is not app or data`, 'write #TYPE:app (the default) or #TYPE:data');
        if (once(type, value, '#TYPE:', fail)) type = { value: value as OverlayType, line };
        break;
      }
      case 'NETWORK': {
        const value = splitComment(rest)[0].toLowerCase();
        if (value !== 'yes' && value !== 'no') {
          fail(`#NETWORK:${value} is not yes or no`, 'write #NETWORK:yes for a build that must reach the network; without the line it has none');
        }
        if (once(network, value, '#NETWORK:', fail)) network = { value, line };
        break;
      }
      case 'ANSWERS': {
        const value = splitComment(rest)[0];
        const sha = /^sha256:([0-9a-f]{64})$/.exec(value);
        if (!sha)
          fail(`#ANSWERS:${value} is not sha256: followed by 64 lower-case hex digits`, 'write #ANSWERS:sha256:<hex>; sha256sum <answers file> prints it');
        if (once(answers, sha[1], '#ANSWERS:', fail)) answers = { value: sha[1], line };
        break;
      }
      case 'INTERACTIVE': {
        const prompt = rest.trim().replace(/\\n/g, '\n');
        if (!prompt) fail('#INTERACTIVE: has no prompt', 'write the question the build asks after #INTERACTIVE:');
        if (!interactive.some((p) => p.prompt === prompt)) interactive.push({ prompt, line });
        break;
      }
      case 'SRC': {
        const source = { ...parseSource(splitComment(rest)[0], fail), line };
        const where = sourceText(source);
        const same = sources.find((s) => s.file === source.file || sourceText(s) === where);
        if (same && (sourceText(same) !== where || same.sha256 !== source.sha256)) {
          fail(
            `#SRC: ${where} contradicts line ${same.line} (${sourceText(same)} sha256:${same.sha256}): both would be ${source.file}`,
            'keep one of the two lines',
          );
        }
        if (!same) sources.push(source);
        break;
      }
    }
  });

  if (installLine === undefined) {
    throw new PharosError('the build script defines no install() function', {
      file,
      next: 'define install() { … }: Pharos runs it in the base image with $target_dir, $tmp_dir, $NCPUS, $app_name and $version set',
    });
  }
  return {
    file,
    type: type?.value ?? 'app',
    ...(whatis ? { whatis: whatis.value } : {}),
    ...(url ? { url: url.value } : {}),
    deps,
    env: [...env.values()],
    interactive,
    sources,
    scheduler: readSchedulerDirectives(directives, file),
    ...(network?.value === 'yes' ? { network: { line: network.line } } : {}),
    ...(answers ? { answers: { sha256: answers.value, line: answers.line } } : {}),
    installLine,
  };
}
