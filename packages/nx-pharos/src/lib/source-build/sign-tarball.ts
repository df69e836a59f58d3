import type Docker from 'dockerode';
import type { TarballManifest } from '../../products/tarball';
import { runContainerCaptured } from '../../tools/docker';
import { GPG_SIGN_SCRIPT, gpgSignArgs, parseFingerprint, parseGpgFailure, rejectOpenPgpKey } from '../../tools/gpg';
import { PharosError } from '../../utils/errors';
import type { SigningKind, SigningMaterial } from '../../utils/signing-material';
import { containerScript } from './scripts';

export const GPG_SIGNING: SigningKind = {
  step: 'sign tarball',
  env: {
    keyFile: 'PHAROS_GPG_KEY_FILE',
    key: 'PHAROS_GPG_KEY',
    passphraseFile: 'PHAROS_GPG_PASSPHRASE_FILE',
    passphrase: 'PHAROS_GPG_PASSPHRASE',
  },
  keyOption: '--signingKeyFile',
  keyDescription: 'an OpenPGP secret key',
  keyTempName: 'key.asc',
  rejectKey: rejectOpenPgpKey,
};

/**
 * `<file>.asc` (detached, armored) and `<file>.pub.asc` (the signer's public key), made in a clean container of the
 * suite. The key and passphrase are bind-mounted read-only files; nothing secret is in argv, the environment or logs.
 */
export async function signTarball(
  docker: Docker,
  image: string,
  signing: SigningMaterial,
  dir: string,
  file: string,
  label: string,
): Promise<TarballManifest['signature']> {
  const [key, passphrase] = ['/run/pharos-signing/key', '/run/pharos-signing/passphrase'];
  const run = containerScript(
    GPG_SIGN_SCRIPT,
    gpgSignArgs({
      file: `/out/${file}`,
      keyFile: key,
      passphraseFile: signing.passphraseFile ? passphrase : undefined,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
    }),
  );
  const result = await runContainerCaptured(docker, {
    image,
    cmd: run.cmd,
    binds: [`${dir}:/out`, `${signing.keyFile}:${key}:ro`, ...(signing.passphraseFile ? [`${signing.passphraseFile}:${passphrase}:ro`] : []), ...run.binds],
    labels: { 'org.pharos.tarball': label },
    // gpg-sign.sh installs gnupg with apt.
    aptCache: true,
  });
  const fingerprint = parseFingerprint(result.stdout);
  if (result.exitCode !== 0 || !fingerprint) {
    const failure = parseGpgFailure(result.stderr);
    throw new PharosError(`GPG signature: ${failure?.reason ?? `gpg exited with code ${result.exitCode}`}`, {
      step: `${label}: sign`,
      tail: failure?.detail ?? result.stderr.trim().split('\n').slice(-10),
      next: `check the key (${GPG_SIGNING.env.keyFile}) and its passphrase (${GPG_SIGNING.env.passphraseFile})`,
    });
  }
  process.stdout.write(`pharos: signed ${file} with key ${fingerprint}\n`);
  return { file: `${file}.asc`, publicKey: `${file}.pub.asc`, fingerprint };
}
