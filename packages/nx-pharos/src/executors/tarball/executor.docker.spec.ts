import type { ProjectConfiguration } from '@nx/devkit';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, containerIds, docker, executorContext, filesIn, makeTestGpgKey, realProduct, removeDir, WORKSPACE } from '../../../e2e/harness';
import { runContainerCaptured } from '../../tools/docker';
import { suiteImage } from '../../tools/suite-image';
import { GPG_VERIFY_SCRIPT } from '../../tools/gpg';
import { containerScript } from '../../lib/source-build/scripts';
import { readImageManifest } from '../../products/image';
import { PharosError } from '../../utils/errors';
import { signingMaterial } from '../../utils/signing-material';
import { GPG_SIGNING, signTarball } from '../../lib/source-build/sign-tarball';
import tarballExecutor from './executor';

/**
 * GPG signing of the tarball with real GnuPG in a clean trixie container, on a small file (the build itself is covered
 * by e2e/source-builds.spec.ts on a fixture package, and by npm run test:slurm on Slurm).
 */
describe('tarball signing', () => {
  let dir: string;
  let keys: string;
  let trixie: string;
  const PASSPHRASE = 'correct horse battery staple';

  beforeAll(async () => {
    const manifestFile = join(realProduct('containers/debian-trixie'), 'image.json');
    trixie = readImageManifest(manifestFile, WORKSPACE).id;
    dir = mkdtempSync(join(tmpdir(), 'pharos-sign-'));
    keys = mkdtempSync(join(tmpdir(), 'pharos-test-gpg-'));
    await makeTestGpgKey(keys, PASSPHRASE);
  });
  afterAll(() => {
    removeDir(dir);
    removeDir(keys);
  });

  const material = (env: Record<string, string>) => signingMaterial(GPG_SIGNING, undefined, env, dir, 'test');

  it('writes a detached signature and the public key, which gpgv accepts, and rejects a changed file', async () => {
    writeFileSync(join(dir, 'x.tar.gz'), 'the product\n');
    const signing = await material({ PHAROS_GPG_KEY: readFileSync(join(keys, 'secret.asc'), 'utf8'), PHAROS_GPG_PASSPHRASE: PASSPHRASE });
    const before = await containerIds();
    const { result: signature, stdout } = await captureOutput(() => signTarball(docker, trixie, signing, dir, 'x.tar.gz', 't:tarball'));
    await signing.dispose();
    expect(signature).toMatchObject({ file: 'x.tar.gz.asc', publicKey: 'x.tar.gz.pub.asc' });
    expect(signature?.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(stdout).toContain(`signed x.tar.gz with key ${signature?.fingerprint}`);
    expect(stdout).not.toContain(PASSPHRASE);
    expect(readFileSync(join(dir, 'x.tar.gz.asc'), 'utf8')).toContain('-----BEGIN PGP SIGNATURE-----');
    // The secret given as text went to a private temporary file, removed afterwards.
    expect(signing.keyFile.startsWith(tmpdir())).toBe(true);
    expect(filesIn(join(signing.keyFile, '..'))).toEqual([]);

    const verify = (file: string) => {
      const run = containerScript(GPG_VERIFY_SCRIPT, ['/d/x.tar.gz.pub.asc', '/d/x.tar.gz.asc', `/d/${file}`]);
      return runContainerCaptured(docker, { image: trixie, cmd: run.cmd, binds: [`${dir}:/d:ro`, ...run.binds] });
    };
    const good = await verify('x.tar.gz');
    expect(good.exitCode, good.stderr).toBe(0);
    expect(good.stderr).toContain('Good signature from "Pharos Test <test@pharos.invalid>"');
    writeFileSync(join(dir, 'changed.tar.gz'), 'the product, changed\n');
    const bad = await verify('changed.tar.gz');
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('BAD signature');
    expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
  });

  it('fails with the reason when the passphrase is wrong', async () => {
    writeFileSync(join(dir, 'y.tar.gz'), 'another product\n');
    writeFileSync(join(keys, 'wrong'), 'not the passphrase\n', { mode: 0o600 });
    const signing = await material({ PHAROS_GPG_KEY_FILE: join(keys, 'secret.asc'), PHAROS_GPG_PASSPHRASE_FILE: join(keys, 'wrong') });
    const err = await signTarball(docker, trixie, signing, dir, 'y.tar.gz', 't:tarball').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PharosError);
    expect((err as PharosError).message).toContain('GPG signature: signing failed: a protected key needs the right passphrase file');
    expect((err as PharosError).details.next).toContain('PHAROS_GPG_PASSPHRASE_FILE');
    expect(filesIn(dir)).not.toContain('y.tar.gz.asc');
  });

  it('refuses a public key, and a missing key before anything is built', async () => {
    await expect(material({ PHAROS_GPG_KEY_FILE: join(keys, 'public.asc') })).rejects.toThrow('is a public key; signing needs the secret key');
    const ws = mkdtempSync(join(tmpdir(), 'pharos-tarball-'));
    try {
      mkdirSync(join(ws, 'third-party/x'), { recursive: true });
      writeFileSync(
        join(ws, 'third-party/x/recipe.yaml'),
        `name: x\nversions:\n  "1.0":\n    sources:\n      - kind: url\n        url: file:///none/x.tar.gz\n        sha256: ${'a'.repeat(64)}\n`,
      );
      const projects: Record<string, ProjectConfiguration> = { x: { root: 'third-party/x', name: 'x' } };
      const before = await containerIds();
      const saved = { ...process.env };
      for (const k of Object.values(GPG_SIGNING.env)) delete process.env[k];
      const { result, stderr } = await captureOutput(() =>
        tarballExecutor({ recipe: 'third-party/x/recipe.yaml', sign: true }, executorContext(ws, 'x', 'tarball', projects)),
      );
      Object.assign(process.env, saved);
      expect(result.success).toBe(false);
      expect(stderr).toContain('pharos: sign tarball: signing is on (x:tarball option "sign") but no signing key was given');
      expect(stderr).toContain('next: set PHAROS_GPG_KEY_FILE to an OpenPGP secret key file');
      expect(filesIn(join(ws, 'dist'))).toEqual([]);
      expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
    } finally {
      removeDir(ws);
    }
  });

  it('takes another OS image by name from the daemon, and says how to supply one it cannot pull', async () => {
    const context = executorContext(dir, 'x', 'tarball', {});
    await docker.getImage(trixie).tag({ repo: 'pharos-test/other-os', tag: 'v1' });
    try {
      expect(await suiteImage(docker, context, 'pharos-test/other-os:v1')).toEqual({ id: trixie, tag: 'pharos-test/other-os:v1' });
    } finally {
      await docker.getImage('pharos-test/other-os:v1').remove();
    }
    const err = (await suiteImage(docker, context, 'pharos-test/absent:v1').catch((e: unknown) => e)) as PharosError;
    expect(err.message).toContain('no project produces pharos-test/absent:v1, the Docker daemon does not have it, and pulling it failed:');
    expect(err.details.next).toContain('docker load the image');
    await expect(suiteImage(docker, context, 'sid')).rejects.toThrow('no project produces debian:sid');
  });
});
