import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGE_MANIFEST, parseImageManifest } from '../../products/image';
import { imageRecordTag, imageRepository, imageTag, pushedImageDigest } from '../../products/image-artifact';
import { inspectRawArgv, pushArchiveArgv, retagArgv, runSkopeo, skopeoError, type RegistryAccess, type SkopeoFailure } from '../../tools/skopeo';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { DEFAULT_REGISTRY, REGISTRY_ENV, teamStoreSettings } from './settings';
import { failureContext } from './team-store';

/**
 * Docker image products in the team store as images (docs/store.md#images-as-images), beside their image.tar as a
 * blob: `skopeo copy docker-archive:<image.tar> docker://<registry>/pharos/images/<project>:<tag>`, then the pushed
 * manifest, byte for byte, under `:archive-<image.tar's sha256>`, the record a reader finds it by. The record is in
 * the registry, not in dist/: image.json (which consumers' cache keys hold) stays what the build wrote, whether or not
 * this machine pushes. A reader takes the record's manifest only when its config is image.json's image ID, then pulls
 * by the manifest's digest.
 */

/** What of an image product a push and a lookup need: image.json's fields, and the archive's path. */
export interface ImageInStore {
  project: string;
  tags: string[];
  /** The image ID, `sha256:<hex>` of its config (image.json's `id`). */
  id: string;
  archiveSha256: string;
}

function imageContext(image: ImageInStore, access: RegistryAccess) {
  return { ...failureContext(access, image.archiveSha256), subject: `image ${imageRepository(image.project)} (archive sha256:${image.archiveSha256})` };
}

/** The image's by-digest reference, `<registry>/pharos/images/<project>@sha256:…`. */
function byDigest(image: ImageInStore, access: RegistryAccess, digest: string): string {
  return `${access.address}/${imageRepository(image.project)}@${digest}`;
}

/**
 * The digest of the manifest the record names, when that manifest's config is the image ID; `failure` when the
 * registry could not be asked or has no record.
 */
async function recordedDigest(image: ImageInStore, access: RegistryAccess, env: NodeJS.ProcessEnv): Promise<{ digest?: string; failure?: SkopeoFailure }> {
  const run = await runSkopeo(inspectRawArgv(access, imageRepository(image.project), imageRecordTag(image.archiveSha256)), access, env);
  if (run.failure) return { failure: run.failure };
  return { digest: pushedImageDigest(Buffer.from(run.stdout), image.id) };
}

/**
 * Pushes the image in `archive` (a docker-archive, e.g. a product's image.tar or its link into the store) and records
 * its manifest digest; an image whose record is there already is not pushed again. Returns the by-digest reference.
 */
export async function pushImage(image: ImageInStore, archive: string, access: RegistryAccess, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const ctx = imageContext(image, access);
  const known = await recordedDigest(image, access, env);
  if (known.digest) return byDigest(image, access, known.digest);
  if (known.failure && known.failure.kind !== 'missing') throw skopeoError('push', known.failure, ctx);
  const repository = imageRepository(image.project);
  const scratch = await mkdtemp(join(tmpdir(), 'pharos-image-push-'));
  const remove = onInterrupt(() => rm(scratch, { recursive: true, force: true }));
  let digest: string;
  try {
    const digestFile = join(scratch, 'digest');
    const push = await runSkopeo(pushArchiveArgv(archive, access, repository, imageTag(image.tags), digestFile), access, env);
    if (push.failure) throw skopeoError('push', push.failure, ctx);
    digest = (await readFile(digestFile, 'utf8')).trim();
  } finally {
    await remove();
  }
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new PharosError(`skopeo wrote "${digest}" as the digest of the image it pushed`, { step: 'team store' });
  const record = await runSkopeo(retagArgv(access, repository, digest, imageRecordTag(image.archiveSha256)), access, env);
  if (record.failure) throw skopeoError('push', record.failure, ctx);
  const check = await recordedDigest(image, access, env);
  if (check.digest !== digest) {
    throw new PharosError(
      `pushed ${ctx.subject} as ${digest}, but its record in ${access.address} does not name a manifest whose config is the image ID ${image.id}`,
      {
        step: 'team store',
        next: `check that ${archive} is the image image.json names (a Docker whose image IDs are not config digests, e.g. with the containerd image store, is not supported)`,
      },
    );
  }
  return byDigest(image, access, digest);
}

/**
 * The by-digest reference of the image a product's image.json names, from the team store's record: what a person
 * pulls (`docker pull <it>`). An error when the team store has no record of it, or one that names another image.
 */
export async function pushedImageRef(image: ImageInStore, access: RegistryAccess, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const found = await recordedDigest(image, access, env);
  if (found.digest) return byDigest(image, access, found.digest);
  const ctx = imageContext(image, access);
  if (found.failure && found.failure.kind !== 'missing') throw skopeoError('pull', found.failure, ctx);
  const why = found.failure ? 'has no record of it' : `has a record of it whose manifest is not image ${image.id}`;
  throw new PharosError(`the team store ${access.address} ${why}: ${ctx.subject}`, {
    step: 'image-ref',
    next: `CI pushes every image it builds (PHAROS_REGISTRY_PUSH=1); rebuild it there, or load this machine's copy: docker load -i <its image.tar>`,
  });
}

export const IMAGE_REF_USAGE = `usage: pharos image-ref <image.json, or the folder that holds it>

Prints the by-digest reference of the image a docker image product names, as CI pushed it to the team store
(PHAROS_REGISTRY, default ${DEFAULT_REGISTRY}): <registry>/pharos/images/<project>@sha256:<manifest digest>. Found by the
record CI leaves (the tag archive-<image.tar's sha256>), and printed only when that manifest's config is image.json's
image ID. Pull it by digest, e.g.
  docker pull "$(tools/pharos image-ref dist/containers/openmpi)"
  skopeo copy --authfile ~/.config/pharos/registry/auth.json --src-tls-verify=false "docker://$(tools/pharos image-ref dist/containers/openmpi)" oci:openmpi:pulled
See docs/store.md#images-as-images.`;

/** `pharos image-ref`; returns the exit code. */
export async function imageRefCli(
  argv: string[],
  io: { stdout: { write(text: string): unknown } } = { stdout: process.stdout },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (argv.some((a) => a === '-h' || a === '--help')) return (void io.stdout.write(`${IMAGE_REF_USAGE}\n`), 0);
  if (argv.length !== 1 || argv[0].startsWith('-'))
    throw new PharosError('image-ref takes one image.json, or its folder', { step: 'image-ref', next: IMAGE_REF_USAGE });
  const file = (await stat(argv[0]).catch(() => undefined))?.isDirectory() ? join(argv[0], IMAGE_MANIFEST) : argv[0];
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new PharosError(`cannot read it (${err.code ?? err.message})`, {
      file,
      step: 'image-ref',
      next: 'name the image.json of a docker image product under dist/',
    });
  });
  const manifest = parseImageManifest(text, file);
  const settings = teamStoreSettings(env);
  if (!settings)
    throw new PharosError(`${REGISTRY_ENV} is off: there is no team store to ask`, {
      step: 'image-ref',
      next: `unset ${REGISTRY_ENV}, or set it to the team's registry`,
    });
  io.stdout.write(`${await pushedImageRef(manifest, settings.access, env)}\n`);
  return 0;
}
