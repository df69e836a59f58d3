import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { imageRecordTag, imageRepository, imageTag, pushedImageDigest } from './image-artifact';

const HEX = '812b9369d2d85c0b8f06bd92b252b55bd728f11dc52da2bc5db89a7b1e542c2b';
const ID = `sha256:${HEX}`;

/** What skopeo 1.9.3 pushed from a one-layer docker-archive to docker-registry 2.8.2 (measured). */
const PUSHED = Buffer.from(
  `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":225,"digest":"${ID}"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":117,"digest":"sha256:6b192ef78d579f9d23e3e3afa8f5e2eef2a3ce9378b08acff9ce4aa0971c4540"}]}`,
);

describe('a docker image product in the registry', () => {
  it('goes to pharos/images/<project>, a name the registry takes whatever Nx calls the project', () => {
    expect(imageRepository('openmpi')).toBe('pharos/images/openmpi');
    expect(imageRepository('debian-bookworm')).toBe('pharos/images/debian-bookworm');
    expect(imageRepository('@site/Big_Image')).toBe('pharos/images/site-big_image');
    expect(imageRepository('a..b--c')).toBe('pharos/images/a.b-c');
    expect(imageRepository('***')).toBe('pharos/images/image');
  });

  it("is tagged for people with its own tag's name, else latest", () => {
    expect(imageTag(['pharos/openmpi:latest'])).toBe('latest');
    expect(imageTag(['debian:bookworm'])).toBe('bookworm');
    expect(imageTag(['localhost:5000/x'])).toBe('latest');
    expect(imageTag([])).toBe('latest');
  });

  it("is recorded under a tag named after its archive's sha256, which image.json holds", () => {
    expect(imageRecordTag(HEX)).toBe(`archive-${HEX}`);
    expect(imageRecordTag(HEX).length).toBeLessThanOrEqual(128);
    expect(() => imageRecordTag('abc')).toThrow('is not a sha256 digest');
  });

  it("is pulled by the recorded manifest's digest only when that manifest's config is the image ID", () => {
    // Measured: the digest skopeo's --digestfile gave for PUSHED.
    expect(pushedImageDigest(PUSHED, ID)).toBe('sha256:fd7cfd9302a07ced84b6cff64c1a2cbf50a970da632bb2b96230057a5ee9ad2c');
    expect(pushedImageDigest(PUSHED, `sha256:${'0'.repeat(64)}`)).toBeUndefined();
    const oci = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: ID } }));
    expect(pushedImageDigest(oci, ID)).toBe(`sha256:${createHash('sha256').update(oci).digest('hex')}`);
    const list = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', config: { digest: ID } }),
    );
    expect(pushedImageDigest(list, ID)).toBeUndefined();
    expect(pushedImageDigest(Buffer.from('not json'), ID)).toBeUndefined();
  });
});
