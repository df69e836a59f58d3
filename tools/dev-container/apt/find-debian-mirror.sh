#!/bin/sh
# Print the archive URI the image's own APT configuration uses for a suite
# (default: the image's codename from /etc/os-release, i.e. trixie).
#
# Why: the extra bookworm/sid sources must point at the same archive the base
# image was built from (the only one reachable in some build environments),
# and no mirror host may be hard-coded in the repository.  Two layouts exist:
#   * debootstrap + docker import: one-line /etc/apt/sources.list
#       deb [opts] URI trixie main
#   * official debian:trixie image: deb822 /etc/apt/sources.list.d/debian.sources
#       URIs: URI ...  /  Suites: trixie trixie-updates
# Both are read; the first enabled "deb" entry listing exactly the suite wins
# (so trixie-security's URI is never picked).
set -eu

suite=${1:-}
if [ -z "$suite" ] && [ -r /etc/os-release ]; then
    # shellcheck source=/dev/null
    suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
fi
[ -n "$suite" ] || { echo "find-debian-mirror: cannot determine base suite" >&2; exit 1; }

uri=""

# deb822 files: one stanza per paragraph.
for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk -v want="$suite" '
        function flush() {
            if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
                n = split(suites, s, " ")
                for (i = 1; i <= n; i++) if (s[i] == want) { split(uris, u, " "); print u[1]; found = 1; exit }
            }
            types = ""; uris = ""; suites = ""; enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
            key = tolower($0); sub(/:.*/, "", key)
            val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "enabled") enabled = tolower(val)
        }
        END { if (!found) flush() }
    ' "$f")
    [ -z "$uri" ] || break
done

# One-line format.
if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        uri=$(awk -v want="$suite" '
            $1 != "deb" { next }
            {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == want) { print $i; exit }
            }
        ' "$f")
        [ -z "$uri" ] || break
    done
fi

if [ -z "$uri" ]; then
    echo "find-debian-mirror: no 'deb' source for suite '$suite' in /etc/apt" >&2
    exit 1
fi
printf '%s\n' "$uri"
