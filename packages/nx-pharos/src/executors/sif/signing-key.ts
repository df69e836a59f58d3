import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';

/**
 * Where the SIF signing key and its passphrase come from. Either can be a file path or the secret itself in an
 * environment variable (the usual CI secret); a secret given as text is written to a private temporary file, because
 * Apptainer and openssl get only file paths, never the secret on argv or in the container's environment.
 */
export const SIGNING_ENV = {
  keyFile: 'PHAROS_SIF_SIGNING_KEY_FILE',
  key: 'PHAROS_SIF_SIGNING_KEY',
  passphraseFile: 'PHAROS_SIF_SIGNING_PASSPHRASE_FILE',
  passphrase: 'PHAROS_SIF_SIGNING_PASSPHRASE',
} as const;

export interface SigningMaterial {
  keyFile: string;
  passphraseFile?: string;
  /** Removes any temporary copies. */
  dispose: () => Promise<void>;
}

const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

export async function signingMaterial(keyFileOption: string | undefined, env: NodeJS.ProcessEnv, cwd: string, requiredBy: string): Promise<SigningMaterial> {
  const keyPath = keyFileOption || env[SIGNING_ENV.keyFile];
  const keyText = env[SIGNING_ENV.key];
  const howToSupply = `set ${SIGNING_ENV.keyFile} to a PEM private key file (or ${SIGNING_ENV.key} to its text), or pass --signingKeyFile; ` +
    `an encrypted key also needs ${SIGNING_ENV.passphraseFile} (or ${SIGNING_ENV.passphrase})`;
  if (!keyPath && !keyText) {
    throw new PharosError(`signing is on (${requiredBy}) but no signing key was given`, { step: 'sign SIF', next: howToSupply });
  }
  let dir: string | undefined;
  const removeDir = onInterrupt(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const privateFile = async (name: string, text: string) => {
    dir ??= await mkdtemp(join(tmpdir(), 'pharos-signing-'));
    await chmod(dir, 0o700);
    const file = join(dir, name);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  };
  try {
    let keyFile: string;
    if (keyPath) {
      keyFile = resolve(cwd, keyPath);
      if (!existsSync(keyFile)) {
        throw new PharosError(`signing key file ${keyFile} does not exist`, { step: 'sign SIF', next: howToSupply });
      }
    } else {
      keyFile = await privateFile('key.pem', keyText as string);
    }
    const pem = readFileSync(keyFile, 'utf8');
    if (!pem.includes('PRIVATE KEY-----')) {
      throw new PharosError(`signing key ${keyPath ? keyFile : `from ${SIGNING_ENV.key}`} is not a PEM private key`, { step: 'sign SIF', next: howToSupply });
    }
    let passphraseFile = env[SIGNING_ENV.passphraseFile] ? resolve(cwd, env[SIGNING_ENV.passphraseFile] as string) : undefined;
    if (passphraseFile && !existsSync(passphraseFile)) {
      throw new PharosError(`passphrase file ${passphraseFile} does not exist`, { step: 'sign SIF', next: howToSupply });
    }
    if (!passphraseFile && env[SIGNING_ENV.passphrase]) passphraseFile = await privateFile('passphrase', env[SIGNING_ENV.passphrase] as string);
    if (ENCRYPTED_PEM.test(pem) && !passphraseFile) {
      throw new PharosError('the signing key is encrypted and no passphrase was given', {
        step: 'sign SIF',
        next: `set ${SIGNING_ENV.passphraseFile} to a file holding the passphrase (or ${SIGNING_ENV.passphrase} to it)`,
      });
    }
    return { keyFile, passphraseFile, dispose: removeDir };
  } catch (err) {
    await removeDir();
    throw err;
  }
}
