import type { SigningKind } from '../../utils/signing-material';

/** SIF signatures: a PEM private key (Apptainer's `sign --key`), decrypted with openssl when it has a passphrase. */
export const SIGNING_ENV = {
  keyFile: 'PHAROS_SIF_SIGNING_KEY_FILE',
  key: 'PHAROS_SIF_SIGNING_KEY',
  passphraseFile: 'PHAROS_SIF_SIGNING_PASSPHRASE_FILE',
  passphrase: 'PHAROS_SIF_SIGNING_PASSPHRASE',
} as const;

const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

export const SIF_SIGNING: SigningKind = {
  step: 'sign SIF',
  env: SIGNING_ENV,
  keyOption: '--signingKeyFile',
  keyDescription: 'a PEM private key',
  keyTempName: 'key.pem',
  rejectKey: (key) => (key.toString('utf8').includes('PRIVATE KEY-----') ? undefined : 'is not a PEM private key'),
  isEncrypted: (key) => ENCRYPTED_PEM.test(key.toString('utf8')),
};
