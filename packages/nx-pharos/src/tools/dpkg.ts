import type { DebBuildKind, ToolRequirement } from '../definitions/source-recipe';
import { markedFields, phase } from '../utils/build-log';
import { shellQuote } from '../utils/shell';

/**
 * The one module that owns how Debian packages are built and read: the script a toolchain container runs around
 * `dpkg-buildpackage` (or upstream's own `make package-deb`, which runs debuild), and the parsing of what it reports.
 * The build dependencies come from the source's own debian/control (`apt-get build-dep ./`), plus only those upstream
 * documents and its control file misses.
 */

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
  /** Names the toolchain in messages, e.g. "debian:bookworm". */
  toolchain?: string;
}

export const DEB_MARKER = 'pharos-deb:';
/** Where make package-deb leaves its .debs; it must not exist beforehand (upstream's rule). */
const PACKAGE_DIR = '/build/packages';

/** Fails the build before it starts when a required tool is missing or too old, naming each and what needs it. */
export function requirementsScript(requires: ToolRequirement[], toolchain: string): string {
  if (!requires.length) return '';
  const checks = requires.map((r) => {
    const versionCommand = r.versionCommand ?? `${r.command} --version`;
    return `if ! command -v ${shellQuote(r.command)} >/dev/null 2>&1; then
  missing="$missing\\n  ${r.command} >= ${r.minimum} for ${r.for}: not installed"
else
  have=$(${versionCommand} 2>&1 | grep -oE '[0-9]+(\\.[0-9]+)+' | head -n 1)
  if [ -z "$have" ] || dpkg --compare-versions "$have" lt ${shellQuote(r.minimum)}; then
    missing="$missing\\n  ${r.command} >= ${r.minimum} for ${r.for}: found \${have:-no version}"
  fi
fi`;
  }).join('\n');
  return `${phase('requirements')}
missing=''
${checks}
if [ -n "$missing" ]; then
  printf 'the toolchain %s lacks what this version needs:%b\\n' ${shellQuote(toolchain)} "$missing" >&2
  echo "this version needs a toolchain the suite does not carry: build another version of the recipe, or add these tools to the suite's image" >&2
  exit 4
fi
`;
}

export function dpkgBuildScript(req: DebBuildRequest): string {
  const build = req.build ?? 'dpkg-buildpackage';
  // Package names are validated by the recipe (Debian's name syntax), so they need no quoting.
  const extra = (req.buildPackages ?? []).join(' ');
  const makeVersion = req.versionVariable && req.release ? ` ${shellQuote(`${req.versionVariable}=${req.release}`)}` : '';
  const buildStep = build === 'dpkg-buildpackage'
    ? `${phase('dpkg-buildpackage')}
dpkg-buildpackage -us -uc -b -j${req.jobs}
debs=../*.deb`
    : `${phase('make package-deb')}
make package-deb PACKAGE_DIR=${PACKAGE_DIR} DEBUILD_OPTS=-j${req.jobs}${makeVersion}
debs=${PACKAGE_DIR}/*.deb`;
  // make package-deb names its debug packages -dbg: without debug symbols they are built but not collected.
  const skipDebug = !req.debugSymbols && build === 'make-package-deb' ? `  case "$deb" in *-dbg_*|*-dbgsym_*) continue ;; esac\n` : '';
  return `set -eu
export DEBIAN_FRONTEND=noninteractive
${req.debugSymbols ? '' : 'export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs"\n'}${requirementsScript(req.requires ?? [], req.toolchain ?? 'image')}${phase('toolchain')}
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot${extra ? ` ${extra}` : ''}
${phase('unpack')}
mkdir -p /build/src
tar -C /build/src -xf ${shellQuote(req.tarball)}
cd /build/src/*/
if [ ! -f debian/control ]; then
  echo "the source tarball has no debian/control: ${build} needs upstream's debian/ directory" >&2
  exit 3
fi
${phase('build-deps')}
apt-get build-dep -y -q ./
${buildStep}
${phase('collect')}
for deb in $debs; do
${skipDebug}  cp "$deb" ${shellQuote(`${req.outDir}/`)}
  printf '${DEB_MARKER}\\t%s\\t%s\\t%s\\t%s\\n' "$(basename "$deb")" "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" "$(dpkg-deb -f "$deb" Architecture)"
done
chown -R ${req.uid}:${req.gid} ${shellQuote(req.outDir)}
`;
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
