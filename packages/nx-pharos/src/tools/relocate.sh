#!/bin/sh
# Makes an autotools install tree relocatable: every ELF file finds its libraries through $ORIGIN-relative RPATHs
# (patchelf), libtool archives (which carry absolute paths) are dropped, and each shared library the tree needs from
# outside itself is printed as `pharos-needed:<TAB>soname<TAB>path`, so the ones the target lacks can be bundled.
#   relocate.sh VIEW NAME      (lib/NAME holds the package's plugins and private libraries)
set -eu
view=$1
name=$2
is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
relocate_dir() {
  [ -d "$1" ] || return 0
  for f in "$1"/*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    is_elf "$f" || continue
    patchelf --set-rpath "$2" "$f"
  done
}
find "$view" -name '*.la' -delete
# shellcheck disable=SC2016 # $ORIGIN is for the dynamic loader, not the shell
relocate_dir "$view/bin" "\$ORIGIN/../lib/$name:\$ORIGIN/../lib"
relocate_dir "$view/sbin" "\$ORIGIN/../lib/$name:\$ORIGIN/../lib"
relocate_dir "$view/lib" "\$ORIGIN:\$ORIGIN/$name"
relocate_dir "$view/lib/$name" "\$ORIGIN:\$ORIGIN/.."
# Anywhere else (a component's plugins, e.g. lib/openmpi, lib/pmix): lib and lib/NAME found from the file's depth.
# Objects patchelf cannot give a RUNPATH (relocatable .o files) are left as they are.
find "$view" -type f | while read -r f; do
  d=$(dirname "$f")
  case $d in "$view/bin" | "$view/sbin" | "$view/lib" | "$view/lib/$name") continue ;; esac
  is_elf "$f" || continue
  patchelf --print-rpath "$f" >/dev/null 2>&1 || continue
  up=$(printf '%s\n' "${d#"$view"/}" | sed 's|[^/][^/]*|..|g')
  patchelf --set-rpath "\$ORIGIN/$up/lib:\$ORIGIN/$up/lib/$name" "$f"
done
find "$view" -type f \( -perm -u+x -o -name '*.so*' \) | while read -r f; do
  is_elf "$f" || continue
  ldd "$f" 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\1 \2/p'
done | sort -u | while read -r soname path; do
  case $path in "$view"/*) continue ;; esac
  printf 'pharos-needed:\t%s\t%s\n' "$soname" "$path"
done
