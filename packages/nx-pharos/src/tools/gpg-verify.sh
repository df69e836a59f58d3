#!/bin/sh
# Checks a detached signature against exactly one public key with gpgv: a signature by any other key fails.
# GnuPG is installed from the suite's archive first.
#   gpg-verify.sh PUBLIC_KEY SIGNATURE FILE
set -eu
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -q && apt-get install -y -q --no-install-recommends gnupg gpgv; } >/tmp/gnupg-apt.log 2>&1 || {
  echo "pharos-gpg-failed: could not install gnupg and gpgv from the suite's archive" >&2; tail -n 10 /tmp/gnupg-apt.log >&2; exit 3; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gpg --batch --quiet --dearmor --output "$work/keyring.gpg" "$1"
gpgv --keyring "$work/keyring.gpg" "$2" "$3"
