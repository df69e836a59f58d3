#!/bin/sh
# Signs FILE with the secret key in KEY_FILE: writes FILE.asc (detached, armored) and FILE.pub.asc (the signer's
# public key), checks the new signature, and prints `pharos-gpg-fingerprint: <fpr>`. GnuPG is installed from the
# suite's archive and runs with a throwaway GNUPGHOME, so no keyring outside is read or changed. The key and the
# passphrase are read-only files: nothing secret is in argv, the environment or the output.
#   gpg-sign.sh FILE KEY_FILE PASSPHRASE_FILE|'' OWNER(uid:gid)
# A failure prints `pharos-gpg-failed: <reason>` and gpg's own lines on stderr, and exits 3.
set -eu
umask 077
file=$1 key=$2 passphrase=$3 owner=$4
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -q && apt-get install -y -q --no-install-recommends gnupg gpgv; } >/tmp/gnupg-apt.log 2>&1 || {
  echo "pharos-gpg-failed: could not install gnupg and gpgv from the suite's archive" >&2; tail -n 10 /tmp/gnupg-apt.log >&2; exit 3; }
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'gpgconf --kill all 2>/dev/null || true; rm -rf "$GNUPGHOME"' EXIT
withpass() {
  if [ -n "$passphrase" ]; then gpg --batch --pinentry-mode loopback --passphrase-file "$passphrase" "$@"
  else gpg --batch --pinentry-mode loopback --passphrase-fd 0 "$@" </dev/null; fi
}
fail() { echo "pharos-gpg-failed: $1" >&2; sed 's/^/  /' "$GNUPGHOME/log" >&2; exit 3; }
withpass --import "$key" 2>"$GNUPGHOME/log" || fail "the key file could not be imported"
fpr=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
[ -n "$fpr" ] || fail "the key file holds no secret key"
withpass --local-user "$fpr" --armor --detach-sign --output "$file.asc" "$file" 2>"$GNUPGHOME/log" ||
  fail "signing failed: a protected key needs the right passphrase file"
gpg --batch --armor --export "$fpr" > "$file.pub.asc"
gpg --batch --verify "$file.asc" "$file" 2>"$GNUPGHOME/log" || fail "the new signature does not verify"
chmod 644 "$file.asc" "$file.pub.asc"
chown "$owner" "$file.asc" "$file.pub.asc"
echo "pharos-gpg-fingerprint: $fpr"
