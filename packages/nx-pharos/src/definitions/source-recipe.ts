import { PharosError } from '../utils/errors';
import type { ImageCheck } from './image-check';
import { DEBIAN_NAME, keyPath, parseYamlFile, STRINGS, SUITE_NAME, type KeyPath, type Shape } from './validate';

/**
 * `third-party/<name>/recipe.yaml`: the versions of a third-party package Pharos builds from source, and for each the
 * places its source can come from, every one pinned by sha256. Shared by every source build (Slurm, BeeGFS), so there
 * is one fetch mechanism. Pure: text in, data out.
 */

/** Where a source file can be downloaded from; the user's mirrors and the local cache are tried before these. */
export type SourceLocation =
  | { kind: 'url'; url: string }
  /**
   * A file of Debian's source package `package`, from its folder in the pool of the archive in the host's apt sources:
   * `debian-orig` names the orig tarball of the same upstream release, `debian-pool` any other file of it (the
   * `.debian.tar.xz` of a version's `packaging`). One location; the kind only says what the file is, in messages.
   */
  | { kind: DebianPoolKind; package: string };

export type DebianPoolKind = 'debian-orig' | 'debian-pool';

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
  /**
   * Where the source's `debian/` comes from when the source has none (or not the one to build with): the places one
   * tarball holding `debian/` can come from, e.g. Debian's `<package>_<version>.debian.tar.xz`, tried in order like
   * `sources`. It replaces the source's own `debian/`; a 3.0 (quilt) format's patches are applied by dpkg-buildpackage.
   * Empty when the source carries its packaging (Slurm, BeeGFS).
   */
  packaging: PinnedSource[];
  /**
   * Patches of ours (paths relative to the recipe's folder, `patch -p1`), applied in order after the packaging's own
   * (a 3.0 (quilt) series): fixes the .debs need that neither upstream nor Debian carries for this suite. Deb builds.
   */
  patches: string[];
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
  /**
   * Build dependencies the suite is too old for, taken from other suites of the same archive (bookworm-backports,
   * sid): only the packages named (apt patterns such as `golang-*`) come from them; everything else, libc6 and every
   * library the packages link against, stays the suite's own, so the .debs install on a plain system of the suite.
   */
  buildFrom?: BuildFromSuite[];
  /**
   * dpkg-buildpackage as an unprivileged user with fakeroot, the way Debian's build daemons run it, for sources whose
   * build or tests refuse root (Apptainer's test helpers look for a non-root process among their parents).
   */
  unprivileged?: boolean;
}

/** Another suite of the archive, and the packages (apt preference patterns) a build may install from it. */
export interface BuildFromSuite {
  suite: string;
  packages: string[];
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
  /** Components of the tarball this variant leaves out (slurm-factory's `--minimal` has no Open MPI). */
  withoutComponents: string[];
}

/**
 * Another package built into the same relocatable view after the main one (slurm-factory ships Open MPI beside
 * Slurm), in the same container, against the same build dependencies: its own version, pinned sources (fetched like
 * the main source: cache, mirrors, site pins), packages beyond the main source's debian/control, and configure flags.
 * It shapes the tarball only: fetch and deb never read it.
 */
export interface TarballComponent {
  name: string;
  version: string;
  sources: PinnedSource[];
  buildPackages: string[];
  configureFlags: string[];
  /**
   * The suites whose packages it builds against; undefined means every suite. Open MPI 5.0.7 does not compile against
   * bookworm's PMIx 4.2.2, so Slurm's tarball for bookworm goes without it, and says so.
   */
  suites?: string[];
}

export interface SourceRecipe {
  name: string;
  /**
   * Set when the images may be built without this package: with no pinned source, fetch and deb record it as absent
   * and the images leave it out, loudly, instead of the whole pipeline failing. `why` says what the images lose.
   */
  optional?: { why: string };
  defaultVersion: string;
  versions: Record<string, RecipeVersion>;
  variants: Record<string, BuildVariant>;
  /** Built into the tarball in this order, unless a chosen variant leaves them out. */
  components: TarballComponent[];
  deb: DebRecipe;
  /**
   * A package without a verify executor of its own is proven by these: its .debs installed with apt in a clean
   * container of the suite (`packages`, default every package the build made), then each check's command run there.
   */
  verify?: DebVerify;
}

export interface DebVerify {
  packages?: string[];
  checks: ImageCheck[];
}

const DEB_BUILDS: DebBuildKind[] = ['dpkg-buildpackage', 'make-package-deb'];
const NOTE: Shape = { kind: 'string' };
const DEBIAN_POOL_KINDS: DebianPoolKind[] = ['debian-orig', 'debian-pool'];

const SOURCE: Shape = {
  kind: 'map',
  required: ['kind'],
  fields: {
    kind: { kind: 'enum', values: ['url', ...DEBIAN_POOL_KINDS] },
    url: { kind: 'string', pattern: /^(https?|file):\/\//, expect: 'be an http(s) or file URL' },
    package: DEBIAN_NAME,
    file: { kind: 'string' },
    sha256: { kind: 'string', pattern: /^([0-9a-f]{64}|unpinned)$/, expect: 'be 64 lower-case hex digits, or "unpinned"' },
    note: NOTE,
  },
};

const TEXT: Shape = { kind: 'string', fromNumber: true };
/** A component's name is a module folder and part of the tarball's file name. */
const COMPONENT_NAME: Shape = { kind: 'string', pattern: /^[a-z][a-z0-9+-]*$/, expect: 'be a lower-case name such as openmpi' };
/** Inside the recipe's folder: a patch is part of the recipe, and of its cache key. */
const PATCH_PATH: Shape = { kind: 'string', pattern: /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/+-]+$/, expect: "be a path inside the recipe's folder" };

const REQUIREMENT: Shape = {
  kind: 'map',
  required: ['command', 'minimum', 'for'],
  fields: {
    command: { kind: 'string', fromNumber: true, pattern: /^[A-Za-z0-9._+-]+$/, expect: 'be a command name' },
    minimum: TEXT,
    for: TEXT,
    versionCommand: { kind: 'string' },
  },
};

const RECIPE_YAML: Shape = {
  kind: 'map',
  required: ['name', 'versions'],
  fields: {
    name: { kind: 'string' },
    optional: { kind: 'map', required: ['why'], fields: { why: { kind: 'string' } } },
    defaultVersion: TEXT,
    versions: {
      kind: 'dict',
      of: {
        kind: 'map',
        required: ['sources'],
        fields: {
          sources: { kind: 'list', of: SOURCE, nonEmpty: true, expect: 'list at least one source' },
          packaging: { kind: 'list', of: SOURCE, nonEmpty: true, expect: 'list at least one source of the packaging tarball' },
          patches: { kind: 'list', of: PATCH_PATH },
          configureFlags: STRINGS,
          requires: { kind: 'list', of: REQUIREMENT },
          note: NOTE,
        },
      },
    },
    variants: {
      kind: 'dict',
      of: {
        kind: 'map',
        fields: {
          configureFlags: STRINGS,
          buildPackages: { kind: 'list', of: DEBIAN_NAME },
          aptComponents: { kind: 'list', of: DEBIAN_NAME },
          withoutComponents: { kind: 'list', of: COMPONENT_NAME },
          note: NOTE,
        },
      },
    },
    tarball: {
      kind: 'map',
      fields: {
        components: {
          kind: 'list',
          of: {
            kind: 'map',
            required: ['name', 'version', 'sources'],
            fields: {
              name: COMPONENT_NAME,
              version: TEXT,
              sources: { kind: 'list', of: SOURCE, nonEmpty: true, expect: 'list at least one source' },
              buildPackages: { kind: 'list', of: DEBIAN_NAME },
              configureFlags: STRINGS,
              suites: { kind: 'list', of: SUITE_NAME, nonEmpty: true, expect: 'name at least one suite' },
              note: NOTE,
            },
          },
        },
        note: NOTE,
      },
    },
    deb: {
      kind: 'map',
      fields: {
        build: { kind: 'enum', values: DEB_BUILDS },
        versionVariable: { kind: 'string', pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, expect: 'be a make variable name' },
        buildPackages: { kind: 'list', of: DEBIAN_NAME },
        suites: { kind: 'list', of: SUITE_NAME, nonEmpty: true, expect: 'name at least one suite' },
        buildFrom: {
          kind: 'list',
          of: {
            kind: 'map',
            required: ['suite', 'packages'],
            fields: {
              suite: SUITE_NAME,
              // Written into apt's preferences: a name or a glob, nothing that could end the line or the stanza.
              packages: {
                kind: 'list',
                of: { kind: 'string', pattern: /^[a-z0-9*][a-z0-9+.*-]*$/, expect: 'be a Debian package name, or a pattern such as golang-*' },
                nonEmpty: true,
                expect: 'name at least one package',
              },
              note: NOTE,
            },
          },
        },
        unprivileged: { kind: 'boolean' },
        note: NOTE,
      },
    },
    verify: {
      kind: 'map',
      required: ['checks'],
      fields: {
        packages: { kind: 'list', of: DEBIAN_NAME, nonEmpty: true, expect: 'name at least one package' },
        checks: {
          kind: 'list',
          nonEmpty: true,
          expect: 'list at least one check',
          of: {
            kind: 'map',
            required: ['command'],
            fields: {
              name: { kind: 'string' },
              command: { kind: 'string' },
              expectOutput: { kind: 'string', fromNumber: true },
              expectOutputContains: { kind: 'list', of: { kind: 'string' }, orSingle: true },
              expectExitCode: { kind: 'number', integer: true, min: 0, max: 255 },
            },
          },
        },
      },
    },
  },
};

interface RawSource {
  kind: SourceLocation['kind'];
  url?: string;
  package?: string;
  file?: string;
  sha256?: string;
  note?: string;
}

interface RawRecipe {
  name: string;
  optional?: { why: string };
  defaultVersion?: string;
  versions: Record<string, { sources: RawSource[]; packaging?: RawSource[]; patches?: string[]; configureFlags?: string[]; requires?: ToolRequirement[] }>;
  variants?: Record<string, Partial<Omit<BuildVariant, 'name'>>>;
  tarball?: {
    components?: Array<{
      name: string;
      version: string;
      sources: RawSource[];
      buildPackages?: string[];
      configureFlags?: string[];
      suites?: string[];
    }>;
  };
  deb?: Partial<DebRecipe>;
  verify?: DebVerify;
}

export function parseSourceRecipe(text: string, file: string): SourceRecipe {
  const { data, fail } = parseYamlFile<RawRecipe>(text, file, RECIPE_YAML);
  const versions: Record<string, RecipeVersion> = {};
  for (const [version, v] of Object.entries(data.versions)) {
    const sources = v.sources.map((src, i) => pinnedSource(src, keyPath(keyPath('versions', version), 'sources'), i, fail));
    const packaging = (v.packaging ?? []).map((src, i) => pinnedSource(src, keyPath(keyPath('versions', version), 'packaging'), i, fail));
    const requires = (v.requires ?? []).map(({ versionCommand, ...req }) => ({ ...req, ...(versionCommand ? { versionCommand } : {}) }));
    versions[version] = { version, sources, packaging, patches: v.patches ?? [], configureFlags: v.configureFlags ?? [], requires };
  }
  const defaultVersion = data.defaultVersion ?? Object.keys(versions)[0];
  if (!versions[defaultVersion])
    fail('defaultVersion', `defaultVersion ${defaultVersion} is not one of the versions (known: ${Object.keys(versions).join(', ')})`);
  const variants = Object.fromEntries(
    Object.entries(data.variants ?? {}).map(([name, v]) => [
      name,
      {
        name,
        configureFlags: v.configureFlags ?? [],
        buildPackages: v.buildPackages ?? [],
        aptComponents: v.aptComponents ?? [],
        withoutComponents: v.withoutComponents ?? [],
      },
    ]),
  );
  const components = (data.tarball?.components ?? []).map((c, i) => ({
    name: c.name,
    version: c.version,
    sources: c.sources.map((src, j) => pinnedSource(src, keyPath(keyPath('tarball.components', i), 'sources'), j, fail)),
    buildPackages: c.buildPackages ?? [],
    configureFlags: c.configureFlags ?? [],
    ...(c.suites ? { suites: c.suites } : {}),
  }));
  const componentNames = [...new Set(components.map((c) => c.name))];
  // One name may have a version per suite (Open MPI 5 on trixie, 4.1 on bookworm), never two on the same suite.
  const overlap = (a: { suites?: string[] }, b: { suites?: string[] }) => !a.suites || !b.suites || a.suites.some((s) => b.suites?.includes(s));
  const twiceComponent = components.findIndex((c, i) => components.slice(0, i).some((d) => d.name === c.name && overlap(c, d)));
  if (twiceComponent >= 0) {
    const name = components[twiceComponent].name;
    fail(
      keyPath('tarball.components', twiceComponent),
      `"tarball.components" names ${name} twice for the same suite (give each entry of ${name} its own "suites")`,
    );
  }
  for (const v of Object.values(variants)) {
    const unknown = v.withoutComponents.find((n) => !componentNames.includes(n));
    if (unknown !== undefined) {
      fail(
        keyPath(keyPath('variants', v.name), 'withoutComponents'),
        `variant ${v.name} leaves out "${unknown}", which is not a tarball component (known: ${componentNames.join(', ') || 'none'})`,
      );
    }
  }
  const deb = data.deb ?? {};
  const build = deb.build ?? 'dpkg-buildpackage';
  if (deb.versionVariable !== undefined && build !== 'make-package-deb') fail('deb.versionVariable', '"deb.versionVariable" is for make-package-deb builds');
  if (deb.unprivileged && build !== 'dpkg-buildpackage') fail('deb.unprivileged', '"deb.unprivileged" is for dpkg-buildpackage builds');
  const fromSuites = (deb.buildFrom ?? []).map((f) => f.suite);
  const twice = fromSuites.find((s, i) => fromSuites.indexOf(s) !== i);
  if (twice) fail(keyPath('deb.buildFrom', fromSuites.lastIndexOf(twice)), `"deb.buildFrom" names ${twice} twice: list its packages once`);
  return {
    name: data.name,
    ...(data.optional ? { optional: { why: data.optional.why } } : {}),
    defaultVersion,
    versions,
    variants,
    components,
    deb: {
      build,
      ...(deb.versionVariable ? { versionVariable: deb.versionVariable } : {}),
      buildPackages: deb.buildPackages ?? [],
      ...(deb.suites ? { suites: deb.suites } : {}),
      // Only when set: the deb section is part of the cache key of every recipe's .debs.
      ...(deb.buildFrom?.length ? { buildFrom: deb.buildFrom.map(({ suite, packages }) => ({ suite, packages })) } : {}),
      ...(deb.unprivileged ? { unprivileged: true } : {}),
    },
    ...(data.verify ? { verify: data.verify } : {}),
  };
}

function pinnedSource(src: RawSource, list: KeyPath, i: number, fail: (path: KeyPath, message: string) => never): PinnedSource {
  const at = keyPath(list, i);
  const sha256 = src.sha256 === 'unpinned' ? undefined : src.sha256;
  if (src.kind === 'url') {
    if (!src.url) fail(at, `"${at}" is a url source and lacks "url"`);
    const url = src.url as string;
    return { file: src.file ?? (url.split('/').pop() as string), sha256, location: { kind: 'url', url }, note: src.note };
  }
  if (!src.package || !src.file) fail(at, `"${at}" is a ${src.kind} source and needs "package" and "file"`);
  return { file: src.file as string, sha256, location: { kind: src.kind, package: src.package as string }, note: src.note };
}

/** Whether some source of the version has a sha256 (after the site's pins): decided from inputs, never the network. */
export function hasPinnedSource(sources: readonly PinnedSource[]): boolean {
  return sources.some((s) => !!s.sha256);
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

/** The tarball components the chosen variants keep and the suite builds, in the recipe's order. */
export function tarballComponents(recipe: SourceRecipe, variants: readonly BuildVariant[], suite: string): TarballComponent[] {
  const left = new Set(variants.flatMap((v) => v.withoutComponents));
  return recipe.components.filter((c) => !left.has(c.name) && (!c.suites || c.suites.includes(suite)));
}

/** The components the recipe does not build on this suite, in no version (said aloud: the tarball goes without them). */
export function componentsNotOn(recipe: SourceRecipe, suite: string): TarballComponent[] {
  const built = new Set(recipe.components.filter((c) => !c.suites || c.suites.includes(suite)).map((c) => c.name));
  return recipe.components.filter((c) => !built.has(c.name) && c.suites && !c.suites.includes(suite));
}

/** The variants asked for, in the recipe's order, or an error that lists the ones it defines. */
export function recipeVariants(recipe: SourceRecipe, wanted: string[], recipeFile: string): BuildVariant[] {
  for (const name of wanted) {
    if (!recipe.variants[name]) {
      const known = Object.keys(recipe.variants);
      throw new PharosError(`${recipe.name} has no build variant "${name}" (${known.length ? `known: ${known.join(', ')}` : 'the recipe defines none'})`, {
        file: recipeFile,
        next: `add variants.${name} (configureFlags, buildPackages, aptComponents, withoutComponents) to ${recipeFile}`,
      });
    }
  }
  return Object.values(recipe.variants).filter((v) => wanted.includes(v.name));
}
