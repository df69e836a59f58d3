import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobArtifact, blobFile, EMPTY_CONFIG, isSifHead, ociLayoutFiles, sizeFromBlobManifest } from './blob-artifact';

const HEX = '730161699378cd1f814c0243a07cf12d4aaf4c7c3fb238e70a1480cd33262cf8';

describe('the registry manifest of a store blob', () => {
  it('is fixed by the sha256 and size alone: the digest docker-registry 2.8.2 gave the same manifest pushed by skopeo', () => {
    const a = blobArtifact(HEX, 3_000_000);
    // Measured: pushed with skopeo 1.9.3 to docker-registry 2.8.2, its Docker-Content-Digest was this.
    expect(a.digest).toBe('sha256:2c8ca3c42967c1a817812f7523f1ab932bc74e513334869e9a3620d3d8089113');
    expect(a.tag).toBe(`sha256-${HEX}`);
    expect(JSON.parse(a.manifest.toString())).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.pharos.blob.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_CONFIG.digest, size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest: `sha256:${HEX}`, size: 3_000_000 }],
    });
    expect(blobArtifact(HEX, 3_000_000).manifest.equals(a.manifest)).toBe(true);
    expect(blobArtifact(HEX, 3_000_001).digest).not.toBe(a.digest);
  });

  it('names the empty config by its real digest', () => {
    expect(`sha256:${createHash('sha256').update(EMPTY_CONFIG.bytes).digest('hex')}`).toBe(EMPTY_CONFIG.digest);
  });

  it("gives a SIF the media types Apptainer's oras:// pulls, on the same layer, under its own tag", () => {
    const s = blobArtifact(HEX, 10, 'sif');
    const m = JSON.parse(s.manifest.toString());
    expect(m.config.mediaType).toBe('application/vnd.sylabs.sif.config.v1+json');
    expect(m.layers).toEqual([{ mediaType: 'application/vnd.sylabs.sif.layer.v1.sif', digest: `sha256:${HEX}`, size: 10 }]);
    expect(m.artifactType).toBeUndefined();
    expect(s.tag).toBe(`sif-${HEX}`);
    expect(s.digest).not.toBe(blobArtifact(HEX, 10).digest);
  });

  it('refuses what is not a digest or a size', () => {
    expect(() => blobArtifact('AB', 1)).toThrow('is not a sha256 digest');
    expect(() => blobArtifact(HEX, -1)).toThrow('is not a blob size');
    expect(() => blobArtifact(HEX, 1.5)).toThrow('is not a blob size');
  });

  it('gives back the size only from a manifest of exactly that shape for that blob', () => {
    expect(sizeFromBlobManifest(blobArtifact(HEX, 42).manifest, HEX)).toBe(42);
    expect(sizeFromBlobManifest(blobArtifact(HEX, 42, 'sif').manifest, HEX)).toBe(42);
    expect(sizeFromBlobManifest(blobArtifact(HEX, 42).manifest, 'cd'.padEnd(64, '0'))).toBeUndefined();
    const spaced = Buffer.from(JSON.stringify(JSON.parse(blobArtifact(HEX, 42).manifest.toString()), null, 1));
    expect(sizeFromBlobManifest(spaced, HEX)).toBeUndefined();
    expect(sizeFromBlobManifest(Buffer.from('not json'), HEX)).toBeUndefined();
  });
});

describe('the OCI layout a push reads', () => {
  it('holds the layout marker, the empty config, each manifest, and an index naming each by its kind', () => {
    const blob = blobArtifact(HEX, 7);
    const sif = blobArtifact(HEX, 7, 'sif');
    const files = ociLayoutFiles([
      { kind: 'blob', artifact: blob },
      { kind: 'sif', artifact: sif },
    ]);
    expect(JSON.parse(files.get('oci-layout')!.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(files.get(blobFile(EMPTY_CONFIG.digest))!.toString()).toBe('{}');
    expect(files.get(blobFile(blob.digest))!.equals(blob.manifest)).toBe(true);
    expect(files.get(blobFile(sif.digest))!.equals(sif.manifest)).toBe(true);
    const index = JSON.parse(files.get('index.json')!.toString());
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['blob', 'sif']);
    expect(index.manifests[0]).toMatchObject({ digest: blob.digest, size: blob.manifest.length });
    expect(blobFile(`sha256:${HEX}`)).toBe(`blobs/sha256/${HEX}`);
    // The layer itself is not written here: the caller links it to the store's blob.
    expect(files.has(blobFile(`sha256:${HEX}`))).toBe(false);
  });
});

describe('telling a SIF by its header', () => {
  it('finds SIF_MAGIC after the 32-byte launch line', () => {
    const head = Buffer.alloc(64);
    head.write('#!/usr/bin/env run-singularity\n');
    head.write('SIF_MAGIC\0', 32);
    expect(isSifHead(head)).toBe(true);
    expect(isSifHead(Buffer.from('\x7fELF'.padEnd(64, '\0')))).toBe(false);
    expect(isSifHead(Buffer.alloc(3))).toBe(false);
  });
});
