import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { onInterrupt } from './cleanup';
import { PharosError } from './errors';
import { ownedName } from './leftovers';

/**
 * Where a signing key and its passphrase come from. Either can be a file path or the secret itself in an environment
 * variable (the usual CI secret); a secret given as text is written to a private temporary file, because the signing
 * tools get only file paths, never the secret on argv or in a container's environment.
 */
export interface SigningEnv {
  keyFile: string;
  key: string;
  passphraseFile: string;
  passphrase: string;
}

export interface SigningKind {
  /** The step named in errors, e.g. "sign SIF". */
  step: string;
  env: SigningEnv;
  /** The executor option that takes a key path, e.g. "--signingKeyFile". */
  keyOption: string;
  /** What the key must be, for messages: "a PEM private key". */
  keyDescription: string;
  /** File name of a key given as text. */
  keyTempName: string;
  /** Why the key is unusable, or undefined when it looks right. */
  rejectKey: (key: Buffer) => string | undefined;
  /** True when the key is known to need a passphrase. */
  isEncrypted?: (key: Buffer) => boolean;
}

export interface SigningMaterial {
  keyFile: string;
  passphraseFile?: string;
  /** Removes any temporary copies. */
  dispose: () => Promise<void>;
}

export async function signingMaterial(
  kind: SigningKind,
  keyFileOption: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  requiredBy: string,
): Promise<SigningMaterial> {
  const { step } = kind;
  const keyPath = keyFileOption || env[kind.env.keyFile];
  const keyText = env[kind.env.key];
  const howToSupply =
    `set ${kind.env.keyFile} to ${kind.keyDescription} file (or ${kind.env.key} to its text), or pass ${kind.keyOption}; ` +
    `a protected key also needs ${kind.env.passphraseFile} (or ${kind.env.passphrase})`;
  if (!keyPath && !keyText) {
    throw new PharosError(`signing is on (${requiredBy}) but no signing key was given`, { step, next: howToSupply });
  }
  let dir: string | undefined;
  const removeDir = onInterrupt(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const privateFile = async (name: string, text: string) => {
    if (!dir) {
      dir = join(tmpdir(), ownedName('pharos-signing'));
      await mkdir(dir, { mode: 0o700 });
    }
    await chmod(dir, 0o700);
    const file = join(dir, name);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  };
  try {
    let keyFile: string;
    if (keyPath) {
      keyFile = resolve(cwd, keyPath);
      if (!existsSync(keyFile)) throw new PharosError(`signing key file ${keyFile} does not exist`, { step, next: howToSupply });
    } else {
      keyFile = await privateFile(kind.keyTempName, keyText as string);
    }
    const key = readFileSync(keyFile);
    const rejected = kind.rejectKey(key);
    if (rejected) {
      throw new PharosError(`signing key ${keyPath ? keyFile : `from ${kind.env.key}`} ${rejected}`, { step, next: howToSupply });
    }
    let passphraseFile = env[kind.env.passphraseFile] ? resolve(cwd, env[kind.env.passphraseFile] as string) : undefined;
    if (passphraseFile && !existsSync(passphraseFile)) {
      throw new PharosError(`passphrase file ${passphraseFile} does not exist`, { step, next: howToSupply });
    }
    if (!passphraseFile && env[kind.env.passphrase]) passphraseFile = await privateFile('passphrase', env[kind.env.passphrase] as string);
    if (kind.isEncrypted?.(key) && !passphraseFile) {
      throw new PharosError('the signing key is encrypted and no passphrase was given', {
        step,
        next: `set ${kind.env.passphraseFile} to a file holding the passphrase (or ${kind.env.passphrase} to it)`,
      });
    }
    return { keyFile, passphraseFile, dispose: removeDir };
  } catch (err) {
    await removeDir();
    throw err;
  }
}
