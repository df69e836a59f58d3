import { join } from 'node:path';
import type { BuildFromSuite, DebBuildKind, ToolRequirement } from '../definitions/source-recipe';
import { markedFields } from '../utils/build-log';

/**
 * The one module that owns how Debian packages are built and read: dpkg-build.sh, which a clean container of the suite
 * runs around `dpkg-buildpackage` (or upstream's own `make package-deb`), the environment that carries its values,
 * and the parsing of what it reports.
 */

export const DPKG_BUILD_SCRIPT = join(__dirname, 'dpkg-build.sh');

export interface DebBuildRequest {
  /** Source tarball path inside the container. */
  tarball: string;
  /** Directory inside the container the .debs are copied to. */
  outDir: string;
  jobs: number;
  debugSymbols: boolean;
  /** Owner to give the copied .debs (the caller on the host). */
  uid: number;
  gid: number;
  /** Default dpkg-buildpackage. */
  build?: DebBuildKind;
  /** make-package-deb: `<versionVariable>=<release>` on make's command line (a tarball has no git tags to read). */
  versionVariable?: string;
  release?: string;
  /** Packages beyond debian/control's Build-Depends. */
  buildPackages?: string[];
  /** Tools checked before anything is installed from the source. */
  requires?: ToolRequirement[];
  /** Names the suite's toolchain in messages, e.g. "debian:bookworm". */
  toolchain?: string;
  /** A tarball holding `debian/` (path inside the container), laid over the source's own. */
  packagingTarball?: string;
  /** Other suites of `debianMirror` that the named build dependencies come from. */
  buildFrom?: BuildFromSuite[];
  /** The archive the build container's extra suites come from; required with `buildFrom`. */
  debianMirror?: string;
  /** dpkg-buildpackage as an unprivileged user with fakeroot. */
  unprivileged?: boolean;
  /** Patch files (paths inside the container), `patch -p1` in order after the packaging's own. */
  patches?: string[];
}

export const DEB_MARKER = 'pharos-deb:';

/** dpkg-build.sh's environment: every value of the request, none of it in the script's text. */
export function dpkgBuildEnv(req: DebBuildRequest): Record<string, string> {
  return {
    SOURCE_TARBALL: req.tarball,
    OUT_DIR: req.outDir,
    JOBS: String(req.jobs),
    DEBUG_SYMBOLS: req.debugSymbols ? 'yes' : 'no',
    OWNER: `${req.uid}:${req.gid}`,
    BUILD: req.build ?? 'dpkg-buildpackage',
    MAKE_VERSION: req.versionVariable && req.release ? `${req.versionVariable}=${req.release}` : '',
    // Package names are validated by the recipe (Debian's name syntax): a space-separated list is safe.
    BUILD_PACKAGES: (req.buildPackages ?? []).join(' '),
    REQUIRES: (req.requires ?? []).map((r) => [r.command, r.minimum, r.for, r.versionCommand ?? `${r.command} --version`].join('\t')).join('\n'),
    TOOLCHAIN: req.toolchain ?? 'image',
    PACKAGING_TARBALL: req.packagingTarball ?? '',
    // Suite and pattern syntax are validated by the recipe: no tab, space or newline inside either.
    BUILD_FROM: (req.buildFrom ?? []).map((f) => `${f.suite}\t${f.packages.join(' ')}`).join('\n'),
    DEBIAN_MIRROR: req.debianMirror ?? '',
    UNPRIVILEGED: req.unprivileged ? 'yes' : 'no',
    PATCHES: (req.patches ?? []).join('\n'),
  };
}

export const FROM_MARKER = 'pharos-from:';

/** The installed build dependencies whose version only another suite carries: suite → package → version. */
export function parseBuiltFrom(output: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [suite, pkg, version] of markedFields(output, FROM_MARKER)) (out[suite] ??= {})[pkg] = version;
  return out;
}

export interface BuiltDeb {
  file: string;
  package: string;
  version: string;
  architecture: string;
}

export function parseBuiltDebs(output: string): BuiltDeb[] {
  return markedFields(output, DEB_MARKER).map(([file, pkg, version, architecture]) => ({ file, package: pkg, version, architecture }));
}

/** "sid (golang-*, tzdata), bookworm-backports (dh-golang)", for the terminal. */
export function buildFromSummary(buildFrom: readonly BuildFromSuite[]): string {
  return buildFrom.map((f) => `${f.suite} (${f.packages.join(', ')})`).join(', ');
}
