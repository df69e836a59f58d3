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

/** Each phase prints a marker, so a failure can name the step it stopped in. */
export const PHASE_MARKER = 'pharos-phase:';
export const DEB_MARKER = 'pharos-deb:';

export function dpkgBuildScript(req: DebBuildRequest): string {
  return `set -eu
export DEBIAN_FRONTEND=noninteractive
${req.debugSymbols ? '' : 'export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs"\n'}echo "${PHASE_MARKER} toolchain"
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot
echo "${PHASE_MARKER} unpack"
mkdir -p /build/src
tar -C /build/src -xf '${req.tarball}'
cd /build/src/*/
if [ ! -f debian/control ]; then
  echo "the source tarball has no debian/control: dpkg-buildpackage needs upstream's debian/ directory" >&2
  exit 3
fi
echo "${PHASE_MARKER} build-deps"
apt-get build-dep -y -q ./
echo "${PHASE_MARKER} dpkg-buildpackage"
dpkg-buildpackage -us -uc -b -j${req.jobs}
echo "${PHASE_MARKER} collect"
for deb in ../*.deb; do
  cp "$deb" '${req.outDir}/'
  printf '${DEB_MARKER}\\t%s\\t%s\\t%s\\t%s\\n' "$(basename "$deb")" "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" "$(dpkg-deb -f "$deb" Architecture)"
done
chown -R ${req.uid}:${req.gid} '${req.outDir}'
`;
}

export interface BuiltDeb {
  file: string;
  package: string;
  version: string;
  architecture: string;
}

export function parseBuiltDebs(output: string): BuiltDeb[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith(`${DEB_MARKER}\t`))
    .map((l) => {
      const [, file, pkg, version, architecture] = l.split('\t');
      return { file, package: pkg, version, architecture };
    });
}

/** The last phase marker in the output: where a failed build stopped. */
export function lastPhase(output: string): string | undefined {
  const phases = output.split('\n').filter((l) => l.startsWith(PHASE_MARKER));
  return phases.at(-1)?.slice(PHASE_MARKER.length).trim();
}
