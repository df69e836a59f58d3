import type { ProjectConfiguration } from '@nx/devkit';
import { execaSync } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, containerIds, executorContext, filesIn, realProduct, removeDir } from '../../../e2e/harness';
import imageTestExecutor from '../image-test/executor';
import sifExecutor, { type SifExecutorOptions } from './executor';
import { SIGNING_ENV } from './signing-key';

// Real Apptainer in the real dev container, on a copy of the base-tools image product the global setup built.
describe('sif executor', () => {
  let ws: string;
  let keys: string;
  const out = () => join(ws, 'dist/containers/t');
  const projects: Record<string, ProjectConfiguration> = {
    t: { root: 'containers/t', name: 't' },
    'dev-container': { root: 'tools/dev-container', name: 'dev-container' },
  };
  const run = (options: SifExecutorOptions = {}) => captureOutput(() => sifExecutor(options, executorContext(ws, 't', 'sif', projects)));
  const savedEnv = { ...process.env };

  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-sif-'));
    mkdirSync(out(), { recursive: true });
    for (const f of ['image.json', 'image.tar']) copyFileSync(join(realProduct('containers/base-tools'), f), join(out(), f));
    // Only the manifest: the dev container image is in the daemon (the global setup built it).
    mkdirSync(join(ws, 'dist/tools/dev-container'), { recursive: true });
    copyFileSync(join(realProduct('tools/dev-container'), 'image.json'), join(ws, 'dist/tools/dev-container/image.json'));
    // A throwaway encrypted Ed25519 key, made the way a site would make one.
    keys = mkdtempSync(join(tmpdir(), 'pharos-test-keys-'));
    writeFileSync(join(keys, 'passphrase'), 'correct horse battery staple', { mode: 0o600 });
    execaSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-aes256', '-pass', `file:${join(keys, 'passphrase')}`, '-out', join(keys, 'key.pem')]);
  });
  afterEach(() => {
    for (const k of Object.values(SIGNING_ENV)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  });
  afterAll(() => {
    removeDir(ws);
    removeDir(keys);
  });

  it('converts the archive into a SIF with its manifest, unprivileged, and leaves no container', async () => {
    const before = await containerIds();
    const { result, stdout } = await run({ compression: 'lz4' });
    expect(result.success).toBe(true);
    expect(stdout).toContain('(mksquashfs -comp lz4)');
    expect(filesIn(out()).sort()).toEqual(['image.json', 'image.tar', 't.sif', 't.sif.json']);
    const manifest = JSON.parse(readFileSync(join(out(), 't.sif.json'), 'utf8'));
    const image = JSON.parse(readFileSync(join(out(), 'image.json'), 'utf8'));
    expect(manifest).toMatchObject({ schema: 1, project: 't', sif: 't.sif', mksquashfsArgs: '-comp lz4', image: { id: image.id } });
    expect(manifest.apptainerVersion).toMatch(/^\d+\.\d+/);
    expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
  });

  it('signs with an encrypted key given by environment, keeps the secrets out of the output, and the test verifies it', async () => {
    process.env[SIGNING_ENV.key] = readFileSync(join(keys, 'key.pem'), 'utf8');
    process.env[SIGNING_ENV.passphraseFile] = join(keys, 'passphrase');
    const { result, stdout, stderr } = await run({ sign: true });
    expect(result.success, stderr).toBe(true);
    expect(filesIn(out()).sort()).toEqual(['image.json', 'image.tar', 't.sif', 't.sif.json', 't.sif.pub.pem']);
    expect(readFileSync(join(out(), 't.sif.pub.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    for (const secret of ['correct horse', 'PRIVATE KEY']) expect(stdout + stderr).not.toContain(secret);
    // The temporary copy of the key given as text is gone.
    expect(filesIn(tmpdir()).filter((f) => f.startsWith('pharos-signing-'))).toEqual([]);

    const test = await captureOutput(() =>
      imageTestExecutor({ sif: 'dist/containers/t/t.sif.json', runtimes: ['apptainer'] }, executorContext(ws, 't', 'test', projects)),
    );
    expect(test.result.success, test.stderr).toBe(true);
    expect(test.stdout).toContain('ok   apptainer verify with dist/containers/t/t.sif.pub.pem');
    expect(test.stdout).toContain('ok   /.singularity.d has the runscript');
  });

  it('fails at once when signing is on and no key is given, and when the key file is missing', async () => {
    const none = await run({ sign: true, signRequiredBy: 'containers/t/container.yaml sif.sign' });
    expect(none.result.success).toBe(false);
    expect(none.stderr).toContain('signing is on (containers/t/container.yaml sif.sign) but no signing key was given');
    expect(none.stderr).toContain(`next: set ${SIGNING_ENV.keyFile}`);
    expect(filesIn(out()).sort()).toEqual(['image.json', 'image.tar']);

    const missing = await run({ sign: true, signingKeyFile: '/nonexistent/key.pem' });
    expect(missing.result.success).toBe(false);
    expect(missing.stderr).toContain('signing key file /nonexistent/key.pem does not exist');

    process.env[SIGNING_ENV.keyFile] = join(keys, 'key.pem');
    const noPassphrase = await run({ sign: true });
    expect(noPassphrase.stderr).toContain('the signing key is encrypted and no passphrase was given');
  });

  it('rejects a corrupt archive by its digest, with no SIF and no container left', async () => {
    const archive = join(out(), 'image.tar');
    copyFileSync(archive, join(ws, 'good.tar'));
    const fd = openSync(archive, 'r+');
    writeSync(fd, Buffer.from('corrupt'), 0, 7, 4096);
    closeSync(fd);
    try {
      const before = await containerIds();
      const { result, stderr } = await run();
      expect(result.success).toBe(false);
      expect(stderr).toMatch(/pharos: dist\/containers\/t\/image\.tar: the image archive has sha256 [0-9a-f]{64}, its manifest says [0-9a-f]{64}/);
      expect(stderr).toContain('next: rebuild it: npx nx run base-tools:image --skip-nx-cache'); // the project the manifest names
      expect(filesIn(out()).sort()).toEqual(['image.json', 'image.tar']);
      expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
    } finally {
      copyFileSync(join(ws, 'good.tar'), archive);
    }
  });

  it('names a compression level the compressor does not take', async () => {
    const { result, stderr } = await run({ compression: 'lz4', compressionLevel: 3 });
    expect(result.success).toBe(false);
    expect(stderr).toContain('squashfs compression lz4 takes no level');
  });
});
