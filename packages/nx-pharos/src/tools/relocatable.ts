/**
 * Making an autotools install tree relocatable: every ELF file finds its libraries through `$ORIGIN`-relative
 * RPATHs (patchelf), libtool archives (which carry absolute paths) are dropped, and the shared libraries the tree
 * needs are listed so the ones the target OS lacks can be bundled. Pure: these build the shell the toolchain
 * container runs, and parse what it prints.
 */

export const NEEDED_MARKER = 'pharos-needed:';

/** RPATH per folder of the tree, relative to the file itself; lib/<name> holds a package's plugins and private libs. */
export function rpaths(name: string): Record<string, string> {
  return {
    bin: `$ORIGIN/../lib/${name}:$ORIGIN/../lib`,
    sbin: `$ORIGIN/../lib/${name}:$ORIGIN/../lib`,
    lib: `$ORIGIN:$ORIGIN/${name}`,
    [`lib/${name}`]: '$ORIGIN:$ORIGIN/..',
  };
}

/** Rewrites RPATHs under `view` and prints `pharos-needed:<tab>soname<tab>path` for each library from outside it. */
export function relocateScript(view: string, name: string): string {
  const dirs = Object.entries(rpaths(name))
    .map(([dir, rpath]) => `relocate_dir '${view}/${dir}' '${rpath}'`)
    .join('\n');
  return `relocate_dir() {
  [ -d "$1" ] || return 0
  for f in "$1"/*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    case $(head -c 4 "$f" | od -An -c | tr -d ' ') in '177ELF') ;; *) continue ;; esac
    patchelf --set-rpath "$2" "$f"
  done
}
find '${view}' -name '*.la' -delete
${dirs}
find '${view}' -type f \\( -perm -u+x -o -name '*.so*' \\) | while read -r f; do
  case $(head -c 4 "$f" | od -An -c | tr -d ' ') in '177ELF') ;; *) continue ;; esac
  ldd "$f" 2>/dev/null | sed -n 's/^[[:space:]]*\\([^ ]*\\) => \\(\\/[^ ]*\\) .*/\\1 \\2/p'
done | sort -u | while read -r soname path; do
  case $path in '${view}'/*) continue ;; esac
  printf '${NEEDED_MARKER}\\t%s\\t%s\\n' "$soname" "$path"
done
`;
}

/** Sonames `ldconfig -p` lists on a clean system of the target: what the tree may rely on without bundling. */
export function parseLdconfig(output: string): string[] {
  return [...new Set(output.split('\n').map((l) => /^\s*(\S+\.so\S*)\s+\(/.exec(l)?.[1]).filter((s): s is string => !!s))].sort();
}
