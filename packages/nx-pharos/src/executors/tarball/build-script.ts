import type { BundledLibrary } from '../../products/tarball';
import { relocateScript } from '../../tools/relocatable';
import { markedFields, phase } from '../../utils/build-log';
import { shellQuote } from '../../utils/shell';

/**
 * The shell the toolchain container runs for a relocatable tree: build dependencies from the source's own
 * debian/control (plus a variant's extra packages), an autotools build for /opt/<name>/view, `$ORIGIN` RPATHs, and
 * the libraries the clean target lacks copied into view/lib. Pure: data in, script out.
 */
export interface TarballBuildRequest {
  /** The recipe's name: the tree is built for /opt/<name>/view with its configuration in /etc/<name>. */
  name: string;
  tarball: string;
  stage: string;
  configureFlags: string[];
  /** Packages the variants need beyond debian/control, and the archive components they come from. */
  buildPackages: string[];
  aptComponents: string[];
  jobs: number;
  /** File listing the sonames a clean system of the target has (one per line). */
  presentSonames: string;
  uid: number;
  gid: number;
}

export const installPrefix = (name: string) => `/opt/${name}/view`;
export const BUNDLED_MARKER = 'pharos-bundled:';

/**
 * Never bundled: the C library (it must be the target's own) and GPU driver libraries such as libnvidia-ml, which
 * must match the kernel driver of the machine the tree runs on.
 */
export const NEVER_BUNDLED = ['ld-linux*', 'libc.so*', 'libm.so*', 'libpthread*', 'libdl.so*', 'librt.so*', 'libnvidia-*', 'libcuda.so*'];


/** Adds archive components (contrib, non-free) to both apt source formats a Debian image may have. */
function aptComponentsScript(components: string[]): string {
  if (!components.length) return '';
  const extra = components.join(' ');
  return `[ ! -f /etc/apt/sources.list ] || sed -i -E '/^deb(-src)? /s/$/ ${extra}/' /etc/apt/sources.list
for f in /etc/apt/sources.list.d/*.sources; do [ ! -f "$f" ] || sed -i -E 's/^(Components:.*)$/\\1 ${extra}/' "$f"; done
`;
}

export function tarballBuildScript(req: TarballBuildRequest): string {
  const prefix = installPrefix(req.name);
  const view = `${req.stage}/root${prefix}`;
  return `set -eu
export DEBIAN_FRONTEND=noninteractive
${phase('toolchain')}
${aptComponentsScript(req.aptComponents)}apt-get update -q
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot patchelf
${phase('unpack')}
mkdir -p /build/src
tar -C /build/src -xf ${shellQuote(req.tarball)}
cd /build/src/*/
${phase('build-deps')}
apt-get build-dep -y -q ./
${req.buildPackages.length ? `apt-get install -y -q --no-install-recommends ${req.buildPackages.map(shellQuote).join(' ')}
` : ''}${phase('configure')}
./configure --prefix=${prefix} --sysconfdir=/etc/${req.name} ${req.configureFlags.map(shellQuote).join(' ')}
${phase('make')}
make -j${req.jobs}
${phase('install')}
make install DESTDIR=${shellQuote(`${req.stage}/root`)}
${phase('relocate')}
{
${relocateScript(view, req.name)}
} > /tmp/needed
cat /tmp/needed
${phase('bundle')}
mkdir -p ${shellQuote(`${view}/lib`)}
grep '^pharos-needed:' /tmp/needed | while IFS="$(printf '\\t')" read -r _ soname path; do
  grep -qx "$soname" ${shellQuote(req.presentSonames)} && continue
  case $soname in ${NEVER_BUNDLED.join('|')}) continue ;; esac
  cp -L "$path" ${shellQuote(`${view}/lib`)}/"$soname"
  patchelf --set-rpath '$ORIGIN' ${shellQuote(`${view}/lib`)}/"$soname"
  # With merged /usr, dpkg knows a library by one of its two paths.
  pkg=$( { dpkg -S "$path" || dpkg -S "/usr$path" || dpkg -S "\${path#/usr}"; } 2>/dev/null | grep -v '^diversion' | cut -d: -f1 | head -n1)
  printf '${BUNDLED_MARKER}\\t%s\\t%s\\n' "$soname" "$pkg"
done
uname -m > ${shellQuote(`${req.stage}/arch`)}
chown -R ${req.uid}:${req.gid} ${shellQuote(req.stage)}
`;
}

export type { BundledLibrary };

export function parseBundled(output: string): BundledLibrary[] {
  return markedFields(output, BUNDLED_MARKER).map(([soname, pkg]) => ({ soname, package: pkg ?? '' }));
}
