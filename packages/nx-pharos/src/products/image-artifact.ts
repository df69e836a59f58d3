import { createHash } from 'node:crypto';
import { isSha256 } from './store';

/**
 * A docker image product in the team's registry (docs/store.md#images-as-images): besides its image.tar as a store
 * blob, the image itself, pushed by skopeo from the archive, so a node can `docker pull` it by digest. The pushed
 * manifest's digest does not follow from the archive (skopeo compresses the layers), so it is recorded in the registry
 * under a tag named after what image.json already holds, the archive's sha256: nothing in dist/ changes when CI
 * pushes. A reader trusts that tag only when the manifest it names has image.json's image ID as its config.
 */

/** Where every image goes: `pharos/images/<project>`. */
export const IMAGES_REPOSITORY = 'pharos/images';

/** One path component of a repository name, as the distribution spec allows it: lower case, separators inside. */
function repositoryComponent(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '')
    .replace(/[._-]{2,}/g, (s) => (s === '__' ? s : s[0]));
  return cleaned || 'image';
}

/** The repository a project's image is pushed to: `pharos/images/<project>` (Nx's name, made a valid component). */
export function imageRepository(project: string): string {
  return `${IMAGES_REPOSITORY}/${repositoryComponent(project)}`;
}

/** The tag people see, from the image's first tag (`pharos/openmpi:latest` → `latest`); none: `latest`. */
export function imageTag(tags: readonly string[]): string {
  const first = tags[0] ?? '';
  const tag = /:([^/:]+)$/.exec(first)?.[1] ?? 'latest';
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) ? tag : 'latest';
}

/** The tag that records which manifest was pushed from the archive `archiveSha256` (and keeps it from GC). */
export function imageRecordTag(archiveSha256: string): string {
  if (!isSha256(archiveSha256)) throw new Error(`"${archiveSha256}" is not a sha256 digest (64 lower-case hex digits)`);
  return `archive-${archiveSha256}`;
}

/** The manifest types skopeo pushes an image as (Docker schema 2 from a docker-archive; OCI where asked). */
const IMAGE_MANIFEST_TYPES = new Set(['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json']);

/**
 * The digest of `manifest` (the registry's bytes, as `skopeo inspect --raw` prints them) when it is an image manifest
 * whose config is the image `imageId` (`sha256:…`, image.json's `id`); else undefined. The config lists every layer's
 * uncompressed digest, so a pull by this digest gets exactly the image the product names (docker checks each layer).
 */
export function pushedImageDigest(manifest: Buffer, imageId: string): string | undefined {
  let parsed: { mediaType?: unknown; schemaVersion?: unknown; config?: { digest?: unknown } };
  try {
    parsed = JSON.parse(manifest.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed.schemaVersion !== 2 || !IMAGE_MANIFEST_TYPES.has(String(parsed.mediaType))) return undefined;
  if (parsed.config?.digest !== imageId) return undefined;
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}
