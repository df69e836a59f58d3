import { execaSync } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../testing/sh-stubs';
import { GPG_SIGN_SCRIPT, GPG_VERIFY_SCRIPT, gpgSignArgs, parseFingerprint, parseGpgFailure } from './gpg';

/**
 * gpg-sign.sh and gpg-verify.sh with the real sh, gpg and gpgv of the host; apt-get (which installs them in the suite's
 * container) and chown (to the caller, as root there) are stand-ins.
 */
// Each case starts gpg-agent and imports a key: seconds on a loaded 2-core machine, over the default 5 s limit.
describe('gpg scripts', { timeout: 30_000 }, () => {
  let dir: string;
  const PASSPHRASE = 'a unit passphrase';
  const stubs = () => stubDir({ 'apt-get': '', chown: '' });
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-gpg-'));
    const home = mkdtempSync(join(tmpdir(), 'pharos-gpg-home-'));
    writeFileSync(join(dir, 'passphrase'), `${PASSPHRASE}\n`);
    const gpg = (...args: string[]) =>
      execaSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase-file', join(dir, 'passphrase'), ...args], { env: { GNUPGHOME: home } });
    gpg('--quick-gen-key', 'Pharos Unit <unit@pharos.invalid>', 'ed25519', 'sign', 'never');
    writeFileSync(join(dir, 'secret.asc'), gpg('--armor', '--export-secret-keys').stdout);
    writeFileSync(join(dir, 'x.tar.gz'), 'the product\n');
    execaSync('gpgconf', ['--kill', 'all'], { env: { GNUPGHOME: home }, reject: false });
  });

  it('signs with a protected key and its passphrase file, and the signature verifies against that key only', async () => {
    const file = join(dir, 'x.tar.gz');
    const signed = await runStubbed(
      GPG_SIGN_SCRIPT,
      gpgSignArgs({ file, keyFile: join(dir, 'secret.asc'), passphraseFile: join(dir, 'passphrase'), uid: 1, gid: 2 }),
      {},
      stubs(),
    );
    expect(signed.exitCode, signed.stderr).toBe(0);
    expect(parseFingerprint(signed.stdout)).toMatch(/^[0-9A-F]{40}$/);
    expect(signed.calls).toContain(`chown 1:2 ${file}.asc ${file}.pub.asc`);
    expect(signed.stdout + signed.stderr).not.toContain(PASSPHRASE);
    const good = await runStubbed(GPG_VERIFY_SCRIPT, [`${file}.pub.asc`, `${file}.asc`, file], {}, stubs());
    expect(good.exitCode, good.stderr).toBe(0);
    writeFileSync(join(dir, 'changed'), `${readFileSync(file, 'utf8')}changed\n`);
    const bad = await runStubbed(GPG_VERIFY_SCRIPT, [`${file}.pub.asc`, `${file}.asc`, join(dir, 'changed')], {}, stubs());
    expect(bad.exitCode).not.toBe(0);
  });

  it('names the failure when the passphrase is missing', async () => {
    const failed = await runStubbed(
      GPG_SIGN_SCRIPT,
      gpgSignArgs({ file: join(dir, 'x.tar.gz'), keyFile: join(dir, 'secret.asc'), uid: 1, gid: 2 }),
      {},
      stubs(),
    );
    expect(failed.exitCode).toBe(3);
    expect(parseGpgFailure(failed.stderr)?.reason).toMatch(/could not be imported|signing failed/);
  });
});
