import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PharosError } from '../utils/errors';
import { assertSifMatches, readSifManifest, sifManifestPath, sifProductPaths, type SifManifest } from './sif';

const ws = mkdtempSync(join(tmpdir(), 'pharos-sif-manifest-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const manifest: SifManifest = {
  schema: 1,
  project: 'demo',
  sif: 'demo.sif',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  bytes: 0,
  image: { id: 'sha256:abc', archiveSha256: 'x' },
  mksquashfsArgs: '-comp zstd',
  apptainerVersion: '1.4.0',
};

/** The formatted error for a manifest with this text (none: no file at all), read as the test target would. */
function readError(text: string | undefined): string {
  const file = join(ws, 'demo.sif.json');
  rmSync(file, { force: true });
  if (text !== undefined) writeFileSync(file, text);
  try {
    readSifManifest(file, ws, 'demo:sif');
  } catch (err) {
    return (err as PharosError).format();
  }
  throw new Error('expected a PharosError');
}

describe('SIF manifest', () => {
  it('spells the product files once', () => {
    expect(sifManifestPath('{projectRoot}', 'demo')).toBe('dist/{projectRoot}/demo.sif.json');
    expect(sifProductPaths('/w/dist/d', 'demo')).toEqual({
      sif: '/w/dist/d/demo.sif',
      manifest: '/w/dist/d/demo.sif.json',
      publicKey: '/w/dist/d/demo.sif.pub.pem',
    });
  });

  it('names the file and the next step when it is missing, not JSON, or lacks a key', () => {
    expect(readError(undefined)).toMatch(/^pharos: demo.sif.json: no SIF manifest\n {2}next: build it: npx nx run demo:sif$/);
    expect(readError('{')).toMatch(/^pharos: demo.sif.json: not valid JSON[^]*next: rebuild it: npx nx run demo:sif --skip-nx-cache$/);
    expect(readError('{"schema":1}')).toMatch(/^pharos: demo.sif.json: SIF manifest lacks "sif"[^]*next: rebuild it: npx nx run demo:sif --skip-nx-cache$/);
  });

  it('reads a manifest and checks the SIF against it', async () => {
    writeFileSync(join(ws, 'demo.sif.json'), JSON.stringify(manifest));
    expect(readSifManifest(join(ws, 'demo.sif.json'), ws, 'demo:sif')).toEqual(manifest);
    const sif = join(ws, 'demo.sif');
    writeFileSync(sif, '');
    await expect(assertSifMatches(sif, manifest, 'demo.sif')).resolves.toBeUndefined();
    writeFileSync(sif, 'other');
    const err = await assertSifMatches(sif, manifest, 'dist/demo/demo.sif').catch((e: PharosError) => e);
    expect((err as PharosError).format()).toMatch(/dist\/demo\/demo.sif: the SIF has sha256 [0-9a-f]{64}[^]*npx nx run demo:sif --skip-nx-cache/);
  });
});
