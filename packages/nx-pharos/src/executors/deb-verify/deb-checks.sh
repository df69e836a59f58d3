#!/bin/sh
# A recipe's .debs installed with apt in a clean container of the suite (install-debs.sh beside it), then each of the
# recipe's `verify.checks` run with `sh -c`. Judging is the executor's (definitions/image-check.ts): each check's exit
# code and standard output go out as one line on stdout, the output base64-encoded so that any text survives; what
# is for the reader (apt's errors, the checks' stderr) goes to stderr.
#   deb-checks.sh DEB_FILE…
#   PHAROS_CHECK_0, PHAROS_CHECK_1, …  the checks' commands, in order
set -eu
here=$(dirname "$0")
sh "$here/install-debs.sh" "$@" >&2
echo "pharos-check: ok   installed $* with apt in a clean container" >&2
i=0
while eval "command=\${PHAROS_CHECK_$i-}"; [ -n "$command" ]; do
  code=0
  out=$(sh -c "$command" 2>/tmp/check-$i.err) || code=$?
  # What the command said on stderr, for the reader; the verdict uses stdout and the exit code only.
  sed 's/^/    /' /tmp/check-$i.err >&2
  printf 'pharos-check-result %s %s %s\n' "$i" "$code" "$(printf '%s' "$out" | base64 -w0)"
  i=$((i + 1))
done
