import { chmod, mkdir, open, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { blobArtifact, blobFile, ociLayoutFiles, sizeFromBlobManifest, STORE_REPOSITORY, isSifHead, type BlobKind } from '../../products/blob-artifact';
import { blobPath } from '../../products/store';
import { inspectRawArgv, pullArgv, pushArgv, runSkopeo, skopeoError, type FailureContext, type RegistryAccess, type SkopeoFailure } from '../../tools/skopeo';
import { temporarySibling } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { sha256File } from '../../utils/digest';
import { PharosError } from '../../utils/errors';
import { REGISTRY_AUTH_FILE_ENV, REGISTRY_PUSH_ENV } from './settings';

/**
 * The team store: this machine's store blobs, in a registry, as OCI artifacts (products/blob-artifact.ts), pushed and
 * pulled by skopeo. A pull goes by the manifest's digest, which follows from the blob's own digest and size, so nothing
 * is taken on a tag's word; skopeo checks every byte against its digest, and the blob is hashed again here before it
 * is renamed into the store. Every temporary layout is inside the store (one filesystem with the blob: the final step
 * is a rename) and is removed on failure and on Ctrl-C.
 */

export function failureContext(access: RegistryAccess, sha256: string, rebuild?: string): FailureContext {
  return {
    registry: access.address,
    blob: `sha256:${sha256}`,
    authFile: access.authFile,
    pushVariable: REGISTRY_PUSH_ENV,
    authVariable: REGISTRY_AUTH_FILE_ENV,
    rebuild,
  };
}

/** Runs `work` on a fresh temporary folder beside `near`, removed afterwards however it ends. */
async function inTemporaryLayout<T>(near: string, work: (layout: string) => Promise<T>): Promise<T> {
  const layout = temporarySibling(near);
  await mkdir(dirname(layout), { recursive: true });
  const remove = onInterrupt(() => rm(layout, { recursive: true, force: true }));
  try {
    return await work(layout);
  } finally {
    await remove();
  }
}

/** Whether the store's blob is a SIF (by its header), which also gets the manifest Apptainer's oras:// pulls. */
export async function blobKindOf(path: string): Promise<BlobKind> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return isSifHead(head.subarray(0, bytesRead)) ? 'sif' : 'blob';
  } finally {
    await handle.close();
  }
}

/**
 * Pushes the store's blob `sha256` (of `size` bytes) to `<registry>/pharos/store:sha256-<hex>`, and a SIF also as
 * `:sif-<hex>`: an OCI layout whose layer is a link to the blob, so nothing is copied on this side. The tags keep the
 * manifests from the registry's garbage collector. A blob the registry has already is not sent again (skopeo asks first).
 */
export async function pushBlob(
  store: string,
  sha256: string,
  size: number,
  kind: BlobKind,
  access: RegistryAccess,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const blob = blobPath(store, sha256);
  const kinds: BlobKind[] = kind === 'sif' ? ['blob', 'sif'] : ['blob'];
  const artifacts = kinds.map((k) => ({ kind: k, artifact: blobArtifact(sha256, size, k) }));
  await inTemporaryLayout(blob, async (layout) => {
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    for (const [path, bytes] of ociLayoutFiles(artifacts)) await writeFile(join(layout, path), bytes);
    await symlink(blob, join(layout, blobFile(`sha256:${sha256}`)));
    for (const { kind: k, artifact } of artifacts) {
      const run = await runSkopeo(pushArgv(layout, k, access, STORE_REPOSITORY, artifact.tag), access, env);
      if (run.failure) throw skopeoError('push', run.failure, failureContext(access, sha256));
    }
  });
}

export interface FetchOutcome {
  fetched: boolean;
  /** Why not, for the consumer's error: "nor does the team store …". */
  note?: string;
}

/** A failure that only means the team store cannot help (answered with a note); any other is an error. */
export function noteFor(failure: SkopeoFailure, access: RegistryAccess): string | undefined {
  if (failure.kind === 'missing') return `nor does the team store ${access.address}`;
  if (failure.kind === 'unreachable') return `and the team store ${access.address} does not answer`;
  if (failure.kind === 'absent') return `and the team store ${access.address} was not asked (skopeo is not installed here)`;
  return undefined;
}

/** The size of blob `sha256` as the team store's manifest for it says, checked against that manifest's fixed shape. */
async function sizeInTeamStore(sha256: string, access: RegistryAccess, rebuild: string, env: NodeJS.ProcessEnv): Promise<number | FetchOutcome> {
  const run = await runSkopeo(inspectRawArgv(access, STORE_REPOSITORY, blobArtifact(sha256, 0).tag), access, env);
  if (run.failure) {
    const note = noteFor(run.failure, access);
    if (note) return { fetched: false, note };
    throw skopeoError('pull', run.failure, failureContext(access, sha256, rebuild));
  }
  const size = sizeFromBlobManifest(Buffer.from(run.stdout), sha256);
  return size ?? { fetched: false, note: `and the team store ${access.address} holds no Pharos manifest for it` };
}

/**
 * Fetches the blob `sha256` (of `size` bytes; unknown: read from the team store's manifest for it) from the team store
 * into `dest` (in the store), read-only. Not there, or no registry answers: `{ fetched: false, note }`. A transfer
 * that fails (damaged bytes, the registry gone mid-pull, refused credentials) is an error naming the registry, the
 * digest and `rebuild`, and leaves nothing behind.
 */
export async function fetchBlob(
  sha256: string,
  size: number | undefined,
  dest: string,
  access: RegistryAccess,
  rebuild: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FetchOutcome> {
  const bytes = size ?? (await sizeInTeamStore(sha256, access, rebuild, env));
  if (typeof bytes !== 'number') return bytes;
  const { digest } = blobArtifact(sha256, bytes);
  return inTemporaryLayout(dest, async (layout) => {
    const run = await runSkopeo(pullArgv(access, STORE_REPOSITORY, digest, layout, 'x'), access, env);
    if (run.failure) {
      const note = noteFor(run.failure, access);
      if (note) return { fetched: false, note };
      throw skopeoError('pull', run.failure, failureContext(access, sha256, rebuild));
    }
    const got = join(layout, blobFile(`sha256:${sha256}`));
    const st = await stat(got).catch(() => undefined);
    const actual = st ? await sha256File(got) : 'missing';
    if (st?.size !== bytes || actual !== sha256) {
      throw new PharosError(
        `fetching blob sha256:${sha256} from the team store ${access.address}: got ${st ? `${st.size} bytes with sha256 ${actual}` : 'no blob'}; nothing was kept`,
        {
          step: 'team store',
          next: `tell whoever runs ${access.address} that its copy is damaged; meanwhile, rebuild it here: ${rebuild}`,
        },
      );
    }
    await chmod(got, 0o444);
    await mkdir(dirname(dest), { recursive: true });
    await rename(got, dest);
    return { fetched: true };
  });
}
