import { relocateScript } from '../../tools/relocatable';

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

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

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
echo "pharos-phase: toolchain"
${aptComponentsScript(req.aptComponents)}apt-get update -q
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot patchelf
echo "pharos-phase: unpack"
mkdir -p /build/src
tar -C /build/src -xf ${quote(req.tarball)}
cd /build/src/*/
echo "pharos-phase: build-deps"
apt-get build-dep -y -q ./
${req.buildPackages.length ? `apt-get install -y -q --no-install-recommends ${req.buildPackages.map(quote).join(' ')}
` : ''}echo "pharos-phase: configure"
./configure --prefix=${prefix} --sysconfdir=/etc/${req.name} ${req.configureFlags.map(quote).join(' ')}
echo "pharos-phase: make"
make -j${req.jobs}
echo "pharos-phase: install"
make install DESTDIR=${quote(`${req.stage}/root`)}
echo "pharos-phase: relocate"
{
${relocateScript(view, req.name)}
} > /tmp/needed
cat /tmp/needed
echo "pharos-phase: bundle"
mkdir -p ${quote(`${view}/lib`)}
grep '^pharos-needed:' /tmp/needed | while IFS="$(printf '\\t')" read -r _ soname path; do
  grep -qx "$soname" ${quote(req.presentSonames)} && continue
  case $soname in ${NEVER_BUNDLED.join('|')}) continue ;; esac
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
