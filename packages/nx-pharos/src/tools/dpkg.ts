import { markedFields, phase } from '../utils/build-log';
import { shellQuote } from '../utils/shell';

/**
 * The one module that owns how Debian packages are built and read: the script a toolchain container runs around
 * `dpkg-buildpackage`, and the parsing of what it reports. The build dependencies always come from the source's own
 * debian/control (`apt-get build-dep ./`), never from a hand-written list.
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
}

export const DEB_MARKER = 'pharos-deb:';

export function dpkgBuildScript(req: DebBuildRequest): string {
  return `set -eu
export DEBIAN_FRONTEND=noninteractive
${req.debugSymbols ? '' : 'export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs"\n'}${phase('toolchain')}
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot
${phase('unpack')}
mkdir -p /build/src
tar -C /build/src -xf ${shellQuote(req.tarball)}
cd /build/src/*/
if [ ! -f debian/control ]; then
  echo "the source tarball has no debian/control: dpkg-buildpackage needs upstream's debian/ directory" >&2
  exit 3
fi
${phase('build-deps')}
apt-get build-dep -y -q ./
${phase('dpkg-buildpackage')}
dpkg-buildpackage -us -uc -b -j${req.jobs}
${phase('collect')}
for deb in ../*.deb; do
  cp "$deb" ${shellQuote(`${req.outDir}/`)}
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
