import { join } from 'node:path';

/**
 * The one module that owns how GnuPG is called: detached, armored signatures (`<file>.asc`) of release files
 * (gpg-sign.sh), and their verification (gpg-verify.sh). Both run in a clean container of the product's suite, which
 * installs GnuPG from its archive like every build dependency. Only file paths reach argv: the key and the passphrase
 * are files mounted read-only, and gpg reads the passphrase with --passphrase-file. These parse what the scripts print.
 */

export const GPG_SIGN_SCRIPT = join(__dirname, 'gpg-sign.sh');
export const GPG_VERIFY_SCRIPT = join(__dirname, 'gpg-verify.sh');

export const FINGERPRINT_MARKER = 'pharos-gpg-fingerprint:';
export const GPG_FAILURE_MARKER = 'pharos-gpg-failed:';

/** gpg-sign.sh's arguments: paths inside the container, and the owner of the files it writes (the calling user). */
export function gpgSignArgs(req: { file: string; keyFile: string; passphraseFile?: string; uid: number; gid: number }): string[] {
  return [req.file, req.keyFile, req.passphraseFile ?? '', `${req.uid}:${req.gid}`];
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
  return {
    reason: lines[at].slice(GPG_FAILURE_MARKER.length).trim(),
    detail: lines
      .slice(at + 1)
      .filter((l) => l.trim())
      .map((l) => l.trim()),
  };
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
