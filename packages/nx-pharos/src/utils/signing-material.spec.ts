import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PharosError } from './errors';
import { signingMaterial, type SigningKind } from './signing-material';

const KIND: SigningKind = {
  step: 'sign test',
  env: { keyFile: 'T_KEY_FILE', key: 'T_KEY', passphraseFile: 'T_PASS_FILE', passphrase: 'T_PASS' },
  keyOption: '--keyFile',
  keyDescription: 'a test key',
  keyTempName: 'key.txt',
  rejectKey: (key) => (key.toString('utf8').startsWith('KEY') ? undefined : 'is not a test key'),
  isEncrypted: (key) => key.toString('utf8').includes('ENCRYPTED'),
};

const dir = mkdtempSync(join(tmpdir(), 'pharos-signing-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'key'), 'KEY plain');
writeFileSync(join(dir, 'encrypted'), 'KEY ENCRYPTED');
writeFileSync(join(dir, 'passphrase'), 'secret');

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: PharosError) => err.format(),
  );

describe('signingMaterial', () => {
  it('takes a key file from the option before the environment, relative to the workspace, and copies nothing', async () => {
    const m = await signingMaterial(KIND, 'key', { T_KEY_FILE: '/elsewhere' }, dir, 'x');
    expect(m).toMatchObject({ keyFile: join(dir, 'key'), passphraseFile: undefined });
    await m.dispose();
    expect(existsSync(join(dir, 'key'))).toBe(true);
  });

  it('writes key and passphrase given as text to private files and removes them on dispose', async () => {
    const m = await signingMaterial(KIND, undefined, { T_KEY: 'KEY ENCRYPTED', T_PASS: 'secret' }, dir, 'x');
    expect(readFileSync(m.keyFile, 'utf8')).toBe('KEY ENCRYPTED');
    expect(readFileSync(m.passphraseFile as string, 'utf8')).toBe('secret');
    expect(statSync(m.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(m.keyFile)).mode & 0o777).toBe(0o700);
    await m.dispose();
    expect(existsSync(dirname(m.keyFile))).toBe(false);
  });

  it('takes a passphrase file from the environment', async () => {
    const m = await signingMaterial(KIND, undefined, { T_KEY_FILE: 'encrypted', T_PASS_FILE: 'passphrase' }, dir, 'x');
    expect(m.passphraseFile).toBe(join(dir, 'passphrase'));
    await m.dispose();
  });

  it('says where signing was switched on and how to give a key when none is given', async () => {
    const message = await failure(signingMaterial(KIND, undefined, {}, dir, 'c.yaml sif.sign'));
    expect(message).toContain('sign test: signing is on (c.yaml sif.sign) but no signing key was given');
    expect(message).toContain('next: set T_KEY_FILE to a test key file (or T_KEY to its text), or pass --keyFile');
  });

  it('names a missing key file, a rejected key and a missing passphrase file', async () => {
    expect(await failure(signingMaterial(KIND, 'nope', {}, dir, 'x'))).toContain(`signing key file ${join(dir, 'nope')} does not exist`);
    expect(await failure(signingMaterial(KIND, undefined, { T_KEY: 'junk' }, dir, 'x'))).toContain('signing key from T_KEY is not a test key');
    expect(await failure(signingMaterial(KIND, 'key', { T_PASS_FILE: 'nope' }, dir, 'x'))).toContain(`passphrase file ${join(dir, 'nope')} does not exist`);
  });

  it('refuses an encrypted key without a passphrase, and leaves no copy of a key given as text', async () => {
    const before = new Set(signingTempDirs());
    const message = await failure(signingMaterial(KIND, undefined, { T_KEY: 'KEY ENCRYPTED' }, dir, 'x'));
    expect(message).toContain('the signing key is encrypted and no passphrase was given');
    expect(message).toContain('next: set T_PASS_FILE to a file holding the passphrase (or T_PASS to it)');
    expect(signingTempDirs().filter((f) => !before.has(f))).toEqual([]);
  });
});

/** The private folders signingMaterial makes for keys given as text. */
function signingTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith('pharos-signing-') && !f.startsWith('pharos-signing-spec-'));
}
