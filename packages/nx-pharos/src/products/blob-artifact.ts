import { createHash } from 'node:crypto';
import { isSha256 } from './store';

/**
 * A store blob as an OCI artifact in the team's registry (docs/store.md#the-team-store): a fixed manifest whose one
 * layer is the blob, so the manifest's bytes, and therefore its digest, follow from the blob's sha256 and size alone.
 * A machine that lacks a blob pulls `pharos/store@sha256:<that digest>` without asking the registry anything by tag.
 * A SIF also gets the manifest Apptainer's `oras://` pulls (its own media types, the same layer).
 */

export const BLOB_ARTIFACT_TYPE = 'application/vnd.pharos.blob.v1';
export const OCI_MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** The OCI empty descriptor's content: the two bytes `{}`. */
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  bytes: '{}',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};
export const SIF_CONFIG_TYPE = 'application/vnd.sylabs.sif.config.v1+json';
export const SIF_LAYER_TYPE = 'application/vnd.sylabs.sif.layer.v1.sif';

/** The registry repository every blob goes to: a blob is visible only in the repository it was pushed to. */
export const STORE_REPOSITORY = 'pharos/store';

export type BlobKind = 'blob' | 'sif';

export interface BlobArtifact {
  /** The manifest's bytes, exactly as pushed and as the registry hands them back. */
  manifest: Buffer;
  /** `sha256:<hex>` of `manifest`. */
  digest: string;
  /** The tag that keeps the manifest (and so the blob) from the registry's garbage collector. */
  tag: string;
}

function sha256Of(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * The manifest of blob `sha256` of `size` bytes: `blob`, Pharos' own artifact (an octet-stream layer), or `sif`, the
 * shape `apptainer pull oras://` accepts. Keys in a fixed order and no spaces, so the same blob always gives the same
 * bytes.
 */
export function blobArtifact(sha256: string, size: number, kind: BlobKind = 'blob'): BlobArtifact {
  if (!isSha256(sha256)) throw new Error(`"${sha256}" is not a sha256 digest (64 lower-case hex digits)`);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`${size} is not a blob size`);
  const layer = { mediaType: kind === 'sif' ? SIF_LAYER_TYPE : 'application/octet-stream', digest: `sha256:${sha256}`, size };
  const config = { mediaType: kind === 'sif' ? SIF_CONFIG_TYPE : EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_TYPE,
      ...(kind === 'blob' ? { artifactType: BLOB_ARTIFACT_TYPE } : {}),
      config,
      layers: [layer],
    }),
  );
  return { manifest, digest: sha256Of(manifest), tag: `${kind === 'sif' ? 'sif' : 'sha256'}-${sha256}` };
}

/**
 * The size a pushed blob manifest gives its layer, when `manifest` is one of blobArtifact's for `sha256` (checked by
 * rebuilding it from that size): how a reader that knows only the digest learns the size, without trusting the tag.
 */
export function sizeFromBlobManifest(manifest: Buffer, sha256: string): number | undefined {
  let size: unknown;
  try {
    size = (JSON.parse(manifest.toString('utf8')) as { layers?: { size?: unknown }[] }).layers?.[0]?.size;
  } catch {
    return undefined;
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  const kinds: BlobKind[] = ['blob', 'sif'];
  return kinds.some((k) => blobArtifact(sha256, size as number, k).manifest.equals(manifest)) ? size : undefined;
}

/**
 * The files of an OCI image layout (besides the blob itself) that holds `artifacts`, each named by its kind
 * (`oci:<dir>:blob`, `oci:<dir>:sif`): path inside the layout → bytes. The layer is added by the caller, as a link
 * to the store's blob, so pushing a gigabyte copies nothing.
 */
export function ociLayoutFiles(artifacts: { kind: BlobKind; artifact: BlobArtifact }[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  files.set(blobFile(EMPTY_CONFIG.digest), Buffer.from(EMPTY_CONFIG.bytes));
  for (const { artifact } of artifacts) files.set(blobFile(artifact.digest), artifact.manifest);
  const manifests = artifacts.map(({ kind, artifact }) => ({
    mediaType: OCI_MANIFEST_TYPE,
    digest: artifact.digest,
    size: artifact.manifest.length,
    annotations: { 'org.opencontainers.image.ref.name': kind },
  }));
  files.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests })));
  return files;
}

/** Where an OCI layout keeps the blob `sha256:<hex>`. */
export function blobFile(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** SIF's magic, at offset 32 of every SIF (after the launch line `#!/usr/bin/env run-singularity`). */
const SIF_MAGIC = 'SIF_MAGIC';

/** Whether a file whose first bytes are `head` (at least 41 of them) is a SIF. */
export function isSifHead(head: Buffer): boolean {
  return head.subarray(32, 32 + SIF_MAGIC.length).toString('latin1') === SIF_MAGIC;
}
