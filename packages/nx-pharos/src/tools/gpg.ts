import { shellQuote } from '../utils/shell';
/**
 * The one module that owns how GnuPG is called: detached, armored signatures (`<file>.asc`) of release files, and
 * their verification. GnuPG runs in a clean container of the product's suite (installed there from its archive, like
 * every build dependency), with a throwaway GNUPGHOME, so the signer's keyring on the host is never read or changed.
 * Only file paths reach argv: the key and the passphrase are files mounted read-only, and gpg reads the passphrase
 * with --passphrase-file. Pure: these build the shell and parse what it prints.
 */

export const FINGERPRINT_MARKER = 'pharos-gpg-fingerprint:';
export const GPG_FAILURE_MARKER = 'pharos-gpg-failed:';


const INSTALL_GNUPG = `export DEBIAN_FRONTEND=noninteractive
{ apt-get update -q && apt-get install -y -q --no-install-recommends gnupg gpgv; } >/tmp/gnupg-apt.log 2>&1 || {
  echo "${GPG_FAILURE_MARKER} could not install gnupg and gpgv from the suite's archive" >&2; tail -n 10 /tmp/gnupg-apt.log >&2; exit 3; }
`;

export interface GpgSignRequest {
  /** Paths inside the container. */
  file: string;
  keyFile: string;
  passphraseFile?: string;
  /** Owner of the files written (the calling user). */
  uid: number;
  gid: number;
}

/** Writes `<file>.asc` and `<file>.pub.asc` (the signer's public key), checks the new signature, prints the fingerprint. */
export function gpgSignScript(req: GpgSignRequest): string {
  return `set -eu
umask 077
${INSTALL_GNUPG}key=${shellQuote(req.keyFile)} passphrase=${shellQuote(req.passphraseFile ?? '')} file=${shellQuote(req.file)}
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'gpgconf --kill all 2>/dev/null || true; rm -rf "$GNUPGHOME"' EXIT
withpass() {
  if [ -n "$passphrase" ]; then gpg --batch --pinentry-mode loopback --passphrase-file "$passphrase" "$@"
  else gpg --batch --pinentry-mode loopback --passphrase-fd 0 "$@" </dev/null; fi
}
fail() { echo "${GPG_FAILURE_MARKER} $1" >&2; sed 's/^/  /' "$GNUPGHOME/log" >&2; exit 3; }
withpass --import "$key" 2>"$GNUPGHOME/log" || fail "the key file could not be imported"
fpr=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
[ -n "$fpr" ] || fail "the key file holds no secret key"
withpass --local-user "$fpr" --armor --detach-sign --output "$file.asc" "$file" 2>"$GNUPGHOME/log" ||
  fail "signing failed: a protected key needs the right passphrase file"
gpg --batch --armor --export "$fpr" > "$file.pub.asc"
gpg --batch --verify "$file.asc" "$file" 2>"$GNUPGHOME/log" || fail "the new signature does not verify"
chmod 644 "$file.asc" "$file.pub.asc"
chown ${req.uid}:${req.gid} "$file.asc" "$file.pub.asc"
echo "${FINGERPRINT_MARKER} $fpr"
`;
}

/** Shell that checks `asc` against exactly one public key with gpgv (a signature by any other key fails). */
export function gpgVerifyScript(publicKey: string, asc: string, file: string): string {
  return `${INSTALL_GNUPG}work=$(mktemp -d)
gpg --batch --quiet --dearmor --output "$work/keyring.gpg" ${shellQuote(publicKey)}
gpgv --keyring "$work/keyring.gpg" ${shellQuote(asc)} ${shellQuote(file)}
`;
}

export function parseFingerprint(output: string): string | undefined {
  const line = output.split('\n').find((l) => l.startsWith(FINGERPRINT_MARKER));
  return line?.slice(FINGERPRINT_MARKER.length).trim() || undefined;
}

/** The reason the sign script gave, and gpg's own lines after it. */
export function parseGpgFailure(stderr: string): { reason: string; detail: string[] } | undefined {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => l.startsWith(GPG_FAILURE_MARKER));
  if (at < 0) return undefined;
  return { reason: lines[at].slice(GPG_FAILURE_MARKER.length).trim(), detail: lines.slice(at + 1).filter((l) => l.trim()).map((l) => l.trim()) };
}

/** A key file gpg can import: armored or binary OpenPGP, and secret. */
export function rejectOpenPgpKey(key: Buffer): string | undefined {
  const text = key.toString('latin1');
  if (text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) return undefined;
  if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return 'is a public key; signing needs the secret key (gpg --export-secret-keys --armor)';
  // Binary OpenPGP packets have the high bit set in their first byte; a secret-key packet has tag 5.
  const first = key[0] ?? 0;
  const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
  if (first & 0x80 && tag === 5) return undefined;
  return 'is not an OpenPGP secret key (export one with gpg --export-secret-keys --armor)';
}
