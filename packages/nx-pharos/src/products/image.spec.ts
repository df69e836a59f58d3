import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PharosError } from '../utils/errors';
import { assertArchiveMatches, imageManifestPath, imageProductPaths, parseImageManifest, readImageManifest, type ImageManifest } from './image';
import { blobLinkText } from './store';

const ws = mkdtempSync(join(tmpdir(), 'pharos-image-manifest-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const manifest: ImageManifest = {
  schema: 1,
  project: 'openmpi',
  id: 'sha256:abc',
  tags: ['pharos/openmpi:latest'],
  size: 1,
  archive: 'image.tar',
  archiveSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  archiveBytes: 0,
  base: [],
  definedBy: 'containers/openmpi/Dockerfile',
};

/** The formatted error a user would see, so a test checks the file and the next step together. */
function shown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PharosError) return err.format();
    throw err;
  }
  throw new Error('expected a PharosError');
}

describe('image manifest', () => {
  it('spells its paths once, for inference and executors alike', () => {
    expect(imageManifestPath('{projectRoot}')).toBe('dist/{projectRoot}/image.json');
    expect(imageProductPaths('/w/dist/c')).toEqual({ archive: '/w/dist/c/image.tar', manifest: '/w/dist/c/image.json' });
  });

  it('parses a complete manifest', () => {
    expect(parseImageManifest(JSON.stringify(manifest), 'f')).toEqual(manifest);
  });

  it('names the file and the rebuild for bad JSON, a missing key and an unknown schema', () => {
    expect(shown(() => parseImageManifest('{', 'dist/c/image.json'))).toMatch(/^pharos: dist\/c\/image.json: not valid JSON[^]*next: rebuild the image target/);
    expect(shown(() => parseImageManifest(JSON.stringify({ ...manifest, archiveSha256: '' }), 'dist/c/image.json'))).toMatch(
      /dist\/c\/image.json: image manifest lacks "archiveSha256"[^]*next: rebuild/,
    );
    expect(shown(() => parseImageManifest(JSON.stringify({ ...manifest, schema: 2 }), 'dist/c/image.json'))).toMatch(
      /dist\/c\/image.json: unsupported manifest schema 2[^]*next: rebuild/,
    );
  });

  it('names a missing manifest relative to the workspace, and the target that builds it', () => {
    const message = shown(() => readImageManifest(join(ws, 'dist/c/image.json'), ws, 'c:image'));
    expect(message).toContain('pharos: dist/c/image.json: no image manifest');
    expect(message).toContain('next: build it: npx nx run c:image');
    expect(shown(() => readImageManifest(join(ws, 'nope.json'), ws))).toContain('next: build the project that produces this image');
  });

  it('reads a manifest from disk', () => {
    const file = join(ws, 'image.json');
    writeFileSync(file, JSON.stringify(manifest));
    expect(readImageManifest(file, ws).id).toBe('sha256:abc');
  });

  it('refuses an archive that is not the one the manifest describes, and says how to rebuild it', async () => {
    const archive = join(ws, 'image.tar');
    writeFileSync(archive, '');
    await expect(assertArchiveMatches(archive, manifest)).resolves.toBeUndefined();
    writeFileSync(archive, 'truncated');
    const err = await assertArchiveMatches(archive, manifest, 'dist/c/image.tar').catch((e: PharosError) => e);
    expect((err as PharosError).format()).toMatch(
      /dist\/c\/image.tar: the image archive has sha256 [0-9a-f]{64}, its manifest says[^]*npx nx run openmpi:image --skip-nx-cache/,
    );
  });

  it("names the blob and this machine's store when the archive is a link whose blob this machine lacks", async () => {
    const archive = join(ws, 'dist/c/image.tar');
    mkdirSync(join(ws, 'dist/c'), { recursive: true });
    symlinkSync(blobLinkText(archive, ws, manifest.archiveSha256), archive);
    vi.stubEnv('PHAROS_STORE', join(ws, 'store'));
    try {
      const err = await assertArchiveMatches(archive, manifest, 'dist/c/image.tar').catch((e: PharosError) => e);
      expect((err as PharosError).format()).toBe(
        `pharos: dist/c/image.tar: links to blob sha256:${manifest.archiveSha256}, which this machine does not have (store: ${join(ws, 'store')})\n` +
          '  next: rebuild it here: npx nx run openmpi:image --skip-nx-cache',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
