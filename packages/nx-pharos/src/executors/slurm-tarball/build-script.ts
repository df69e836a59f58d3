import { relocateScript } from '../../tools/relocatable';

/**
 * The shell the toolchain container runs for a relocatable Slurm tree: build dependencies from the source's own
 * debian/control, an autotools build for /opt/slurm/view, `$ORIGIN` RPATHs, and the libraries the clean target lacks
 * copied into view/lib. Pure: data in, script out.
 */
export interface TarballBuildRequest {
  tarball: string;
  stage: string;
  configureFlags: string[];
  jobs: number;
  /** File listing the sonames a clean system of the target has (one per line). */
  presentSonames: string;
  uid: number;
  gid: number;
}

export const INSTALL_PREFIX = '/opt/slurm/view';
export const BUNDLED_MARKER = 'pharos-bundled:';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function tarballBuildScript(req: TarballBuildRequest): string {
  const view = `${req.stage}/root${INSTALL_PREFIX}`;
  return `set -eu
export DEBIAN_FRONTEND=noninteractive
echo "pharos-phase: toolchain"
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot patchelf
echo "pharos-phase: unpack"
mkdir -p /build/src
tar -C /build/src -xf ${quote(req.tarball)}
cd /build/src/*/
echo "pharos-phase: build-deps"
apt-get build-dep -y -q ./
echo "pharos-phase: configure"
./configure --prefix=${INSTALL_PREFIX} --sysconfdir=/etc/slurm ${req.configureFlags.map(quote).join(' ')}
echo "pharos-phase: make"
make -j${req.jobs}
echo "pharos-phase: install"
make install DESTDIR=${quote(`${req.stage}/root`)}
echo "pharos-phase: relocate"
{
${relocateScript(view)}
} > /tmp/needed
cat /tmp/needed
echo "pharos-phase: bundle"
grep '^pharos-needed:' /tmp/needed | while IFS="$(printf '\\t')" read -r _ soname path; do
  grep -qx "$soname" ${quote(req.presentSonames)} && continue
  case $soname in ld-linux*|libc.so*|libm.so*|libpthread*|libdl.so*|librt.so*) continue ;; esac
  cp -L "$path" ${quote(`${view}/lib`)}/"$soname"
  patchelf --set-rpath '$ORIGIN' ${quote(`${view}/lib`)}/"$soname"
  # With merged /usr, dpkg knows a library by one of its two paths.
  pkg=$( { dpkg -S "$path" || dpkg -S "/usr$path" || dpkg -S "\${path#/usr}"; } 2>/dev/null | grep -v '^diversion' | cut -d: -f1 | head -n1)
  printf '${BUNDLED_MARKER}\\t%s\\t%s\\n' "$soname" "$pkg"
done
uname -m > ${quote(`${req.stage}/arch`)}
chown -R ${req.uid}:${req.gid} ${quote(req.stage)}
`;
}

export interface BundledLibrary {
  soname: string;
  package: string;
}

export function parseBundled(output: string): BundledLibrary[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith(`${BUNDLED_MARKER}\t`))
    .map((l) => {
      const [, soname, pkg] = l.split('\t');
      return { soname, package: pkg ?? '' };
    });
}
