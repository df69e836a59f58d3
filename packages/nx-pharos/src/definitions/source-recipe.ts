import { isMap, LineCounter, parseDocument, type Node } from 'yaml';
import { PharosError } from '../utils/errors';

/**
 * `third-party/<name>/recipe.yaml`: the versions of a third-party package Pharos builds from source, and for each the
 * places its source can come from, every one pinned by sha256. Shared by every source build (Slurm, BeeGFS), so there
 * is one fetch mechanism. Pure: text in, data out.
 */

/** Where a source file can be downloaded from; the user's mirrors and the local cache are tried before these. */
export type SourceLocation =
  | { kind: 'url'; url: string }
  /** Debian's orig tarball of the same upstream release, from the archive in the host's apt sources. */
  | { kind: 'debian-orig'; package: string };

export interface PinnedSource {
  /** File name in the source cache and on mirrors. */
  file: string;
  /** Lower-case hex, or undefined when upstream's digest could not be pinned (the source is then skipped). */
  sha256?: string;
  location: SourceLocation;
  /** Why this source exists or is not pinned, for messages. */
  note?: string;
}

export interface RecipeVersion {
  version: string;
  sources: PinnedSource[];
  /** Extra configure flags (tarball builds); part of the cache key of what uses them. */
  configureFlags: string[];
  /** Tools the build needs beyond the suite's packages (BeeGFS 8.x: Rust, Go), checked before the build starts. */
  requires: ToolRequirement[];
}

/** A tool a version's build needs, with the oldest version that works and what it builds, for the message. */
export interface ToolRequirement {
  command: string;
  minimum: string;
  /** What needs it, e.g. "mgmtd (beegfs-rust)". */
  for: string;
  /** Prints the version; default `<command> --version`. The first dotted number in its output is the version. */
  versionCommand?: string;
}

/** How the Debian packages are built from the source tree. */
export type DebBuildKind = 'dpkg-buildpackage' | 'make-package-deb';

export interface DebRecipe {
  /**
   * `dpkg-buildpackage` (upstream's debian/ is used as it is, e.g. Slurm) or `make-package-deb` (upstream's own
   * `make package-deb PACKAGE_DIR=… DEBUILD_OPTS=-j<n>`, e.g. BeeGFS).
   */
  build: DebBuildKind;
  /** For make-package-deb: the make variable that carries the release (BeeGFS_VERSION); a tarball has no git tags. */
  versionVariable?: string;
  /** Build dependencies upstream documents that its debian/control does not list. */
  buildPackages: string[];
  /** The Debian suites the packages are built for; undefined means every suite Pharos builds. */
  suites?: string[];
}

/**
 * A named change to the relocatable build (slurm-factory's `--gpu`, `--minimal`): more configure flags, and packages
 * the source's debian/control does not list (optionally from more archive components, such as non-free for NVML).
 */
export interface BuildVariant {
  name: string;
  configureFlags: string[];
  buildPackages: string[];
  aptComponents: string[];
}

export interface SourceRecipe {
  name: string;
  defaultVersion: string;
  versions: Record<string, RecipeVersion>;
  variants: Record<string, BuildVariant>;
  deb: DebRecipe;
}

const SHA256 = /^[0-9a-f]{64}$/;
const TOP_KEYS = ['name', 'defaultVersion', 'versions', 'variants', 'deb'];
const DEB_KEYS = ['build', 'versionVariable', 'buildPackages', 'suites', 'note'];
const DEB_BUILDS: DebBuildKind[] = ['dpkg-buildpackage', 'make-package-deb'];
const REQUIRE_KEYS = ['command', 'minimum', 'for', 'versionCommand'];
const VARIANT_KEYS = ['configureFlags', 'buildPackages', 'aptComponents', 'note'];
const APT_NAME = /^[a-z0-9][a-z0-9+.-]*$/;
const VERSION_KEYS = ['sources', 'configureFlags', 'requires', 'note'];
const SOURCE_KEYS = ['kind', 'url', 'package', 'file', 'sha256', 'note'];

export function parseSourceRecipe(text: string, file: string): SourceRecipe {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) throw new PharosError(`invalid YAML: ${doc.errors[0].message.split('\n')[0]}`, { file, line: doc.errors[0].linePos?.[0]?.line });
  const lineOf = (path: Array<string | number>): number | undefined => {
    const node = doc.getIn(path, true) as Node | undefined;
    return node?.range ? lines.linePos(node.range[0]).line : undefined;
  };
  const fail = (message: string, path: Array<string | number>, next?: string): never => {
    throw new PharosError(message, { file, line: lineOf(path), next });
  };
  const unknownKeys = (value: unknown, known: string[], path: Array<string | number>) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`"${path.join('.') || 'the file'}" must be a mapping`, path);
    for (const key of Object.keys(value as object)) {
      if (!known.includes(key)) {
        // Point at the key itself.
        const map = doc.getIn(path, true);
        const pair = isMap(map) ? map.items.find((p) => String((p.key as { value?: unknown })?.value) === key) : undefined;
        const offset = (pair?.key as Node | undefined)?.range?.[0];
        throw new PharosError(`unknown key "${[...path, key].join('.')}" (known here: ${known.join(', ')})`, {
          file,
          line: offset === undefined ? undefined : lines.linePos(offset).line,
          next: `remove or rename "${key}"`,
        });
      }
    }
  };

  const data = (doc.toJS() ?? {}) as Record<string, unknown>;
  unknownKeys(data, TOP_KEYS, []);
  if (typeof data.name !== 'string') fail('"name" must be a string', ['name']);
  const rawVersions = data.versions as Record<string, unknown> | undefined;
  if (!rawVersions || typeof rawVersions !== 'object') fail('"versions" must map each version to its sources', ['versions']);
  const versions: Record<string, RecipeVersion> = {};
  for (const [version, raw] of Object.entries(rawVersions as Record<string, unknown>)) {
    const vpath = ['versions', version];
    unknownKeys(raw, VERSION_KEYS, vpath);
    const v = raw as { sources?: unknown; configureFlags?: unknown; requires?: unknown };
    if (!Array.isArray(v.sources) || v.sources.length === 0) fail(`version ${version} lists no sources`, vpath);
    const flags = v.configureFlags ?? [];
    if (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string')) fail(`"configureFlags" of ${version} must be a list of strings`, [...vpath, 'configureFlags']);
    const sources = (v.sources as unknown[]).map((s, i): PinnedSource => {
      const spath = [...vpath, 'sources', i];
      unknownKeys(s, SOURCE_KEYS, spath);
      const src = s as Record<string, unknown>;
      const sha256 = src.sha256 === 'unpinned' ? undefined : src.sha256;
      if (sha256 !== undefined && (typeof sha256 !== 'string' || !SHA256.test(sha256))) {
        fail(`sha256 of source ${i + 1} of ${version} must be 64 lower-case hex digits, or "unpinned"`, [...spath, 'sha256']);
      }
      const note = typeof src.note === 'string' ? src.note : undefined;
      if (src.kind === 'url') {
        if (typeof src.url !== 'string' || !/^(https?|file):\/\//.test(src.url)) fail(`source ${i + 1} of ${version} needs an http(s) or file "url"`, spath);
        const url = src.url as string;
        const fileName = typeof src.file === 'string' ? src.file : url.split('/').pop() as string;
        return { file: fileName, sha256: sha256 as string | undefined, location: { kind: 'url', url }, note };
      }
      if (src.kind === 'debian-orig') {
        if (typeof src.package !== 'string' || typeof src.file !== 'string') fail(`a debian-orig source needs "package" and "file"`, spath);
        return { file: src.file as string, sha256: sha256 as string | undefined, location: { kind: 'debian-orig', package: src.package as string }, note };
      }
      return fail(`source kind must be "url" or "debian-orig", got ${JSON.stringify(src.kind)}`, [...spath, 'kind']);
    });
    if (v.requires !== undefined && !Array.isArray(v.requires)) fail(`"requires" of ${version} must be a list`, [...vpath, 'requires']);
    const requires = ((v.requires ?? []) as unknown[]).map((r, i): ToolRequirement => {
      const rpath = [...vpath, 'requires', i];
      unknownKeys(r, REQUIRE_KEYS, rpath);
      const req = r as Record<string, unknown>;
      for (const key of ['command', 'minimum', 'for']) {
        if (typeof req[key] !== 'string' && typeof req[key] !== 'number') fail(`requirement ${i + 1} of ${version} needs "${key}"`, rpath);
      }
      if (!/^[A-Za-z0-9._+-]+$/.test(String(req.command))) fail(`"command" of requirement ${i + 1} of ${version} must be a command name`, [...rpath, 'command']);
      return {
        command: String(req.command),
        minimum: String(req.minimum),
        for: String(req.for),
        ...(typeof req.versionCommand === 'string' ? { versionCommand: req.versionCommand } : {}),
      };
    });
    versions[version] = { version, sources, configureFlags: flags as string[], requires };
  }
  const defaultVersion = String(data.defaultVersion ?? Object.keys(versions)[0]);
  if (!versions[defaultVersion]) fail(`defaultVersion ${defaultVersion} is not one of the versions`, ['defaultVersion']);
  const variants: Record<string, BuildVariant> = {};
  if (data.variants !== undefined && (typeof data.variants !== 'object' || data.variants === null || Array.isArray(data.variants))) {
    fail('"variants" must map each variant name to its changes', ['variants']);
  }
  for (const [name, raw] of Object.entries((data.variants ?? {}) as Record<string, unknown>)) {
    const path = ['variants', name];
    unknownKeys(raw ?? {}, VARIANT_KEYS, path);
    const v = (raw ?? {}) as Record<string, unknown>;
    const list = (key: string, pattern?: RegExp): string[] => {
      const value = v[key] ?? [];
      if (!Array.isArray(value) || value.some((f) => typeof f !== 'string' || (pattern && !pattern.test(f)))) {
        fail(`"${key}" of variant ${name} must be a list of ${pattern ? 'Debian package or component names' : 'strings'}`, [...path, key]);
      }
      return value as string[];
    };
    variants[name] = { name, configureFlags: list('configureFlags'), buildPackages: list('buildPackages', APT_NAME), aptComponents: list('aptComponents', APT_NAME) };
  }
  return { name: data.name as string, defaultVersion, versions, variants, deb: parseDebRecipe(data.deb, fail, unknownKeys) };
}

function parseDebRecipe(
  raw: unknown,
  fail: (message: string, path: Array<string | number>) => never,
  unknownKeys: (value: unknown, known: string[], path: Array<string | number>) => void,
): DebRecipe {
  if (raw === undefined) return { build: 'dpkg-buildpackage', buildPackages: [] };
  unknownKeys(raw, DEB_KEYS, ['deb']);
  const d = raw as Record<string, unknown>;
  const build = (d.build ?? 'dpkg-buildpackage') as DebBuildKind;
  if (!DEB_BUILDS.includes(build)) fail(`"deb.build" must be one of ${DEB_BUILDS.join(', ')}, got ${JSON.stringify(d.build)}`, ['deb', 'build']);
  const names = (key: string, pattern: RegExp): string[] | undefined => {
    const value = d[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((f) => typeof f !== 'string' || !pattern.test(f))) fail(`"deb.${key}" must be a list of names`, ['deb', key]);
    return value as string[];
  };
  if (d.versionVariable !== undefined && (typeof d.versionVariable !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.versionVariable))) {
    fail('"deb.versionVariable" must be a make variable name', ['deb', 'versionVariable']);
  }
  if (d.versionVariable !== undefined && build !== 'make-package-deb') fail('"deb.versionVariable" is for make-package-deb builds', ['deb', 'versionVariable']);
  const suites = names('suites', APT_NAME);
  if (suites && !suites.length) fail('"deb.suites" must name at least one suite', ['deb', 'suites']);
  return {
    build,
    ...(d.versionVariable ? { versionVariable: d.versionVariable as string } : {}),
    buildPackages: names('buildPackages', APT_NAME) ?? [],
    ...(suites ? { suites } : {}),
  };
}

/** The version asked for, or an error that lists the known ones. */
export function recipeVersion(recipe: SourceRecipe, version: string | number | undefined, recipeFile: string): RecipeVersion {
  // Nx parses `--release=26.05` from the command line as a number.
  const chosen = version === undefined ? recipe.defaultVersion : String(version);
  const found = recipe.versions[chosen];
  if (!found) {
    throw new PharosError(`unknown ${recipe.name} version ${chosen} (known: ${Object.keys(recipe.versions).join(', ')})`, {
      file: recipeFile,
      next: `pick a known version, or add ${chosen} with its pinned sources to ${recipeFile}`,
    });
  }
  return found;
}

/** The variants asked for, in the recipe's order, or an error that lists the ones it defines. */
export function recipeVariants(recipe: SourceRecipe, wanted: string[], recipeFile: string): BuildVariant[] {
  for (const name of wanted) {
    if (!recipe.variants[name]) {
      const known = Object.keys(recipe.variants);
      throw new PharosError(`${recipe.name} has no build variant "${name}" (${known.length ? `known: ${known.join(', ')}` : 'the recipe defines none'})`, {
        file: recipeFile,
        next: `add variants.${name} (configureFlags, buildPackages, aptComponents) to ${recipeFile}`,
      });
    }
  }
  return Object.values(recipe.variants).filter((v) => wanted.includes(v.name));
}
