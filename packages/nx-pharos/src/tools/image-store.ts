import type Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAtomically } from '../utils/atomic-file';
import { PharosError } from '../utils/errors';
import { inspectImage, loadImage, saveImage, tagImage } from './docker';
import {
  assertArchiveMatches,
  IMAGE_ARCHIVE,
  imageArchiveExpected,
  imageProductPaths,
  rebuildImage,
  writeImageManifest,
  type ImageManifest,
} from '../products/image';
import { assertBlobPresent, publishImageToTeamStore, storeProductFile } from '../products/store-files';

/**
 * Makes the manifest's image present in the daemon, loading the archive when it is missing (a cache hit on a machine
 * that never built it, or after `docker rmi`). Consumers then use `manifest.id`, never a tag. Returns true when the
 * archive had to be loaded.
 */
export async function ensureImage(docker: Docker, manifestFile: string, manifest: ImageManifest, log: (t: string) => void = () => undefined): Promise<boolean> {
  let loaded = false;
  if (!(await inspectImage(docker, manifest.id))) {
    const archive = join(dirname(manifestFile), manifest.archive);
    await assertBlobPresent(archive, imageArchiveExpected(manifest), { shown: archive, rebuild: rebuildImage(manifest) });
    if (!existsSync(archive)) {
      throw new PharosError(`image ${manifest.id.slice(0, 19)} is not in the daemon and its archive is missing`, {
        file: archive,
        next: `rebuild it: ${rebuildImage(manifest)}`,
      });
    }
    await assertArchiveMatches(archive, manifest);
    log(`loading ${manifest.project} image from ${archive}\n`);
    await loadImage(docker, archive).catch((err: Error) => {
      throw new PharosError(`docker load failed: ${err.message}`, { file: archive, next: `rebuild it: ${rebuildImage(manifest)}` });
    });
    if (!(await inspectImage(docker, manifest.id))) {
      throw new PharosError(`loading the archive did not produce image ${manifest.id}`, {
        file: archive,
        next: `rebuild it: ${rebuildImage(manifest)}`,
      });
    }
    // The archive is saved by ID and carries no name: give the loaded image its tags, for people to find it.
    for (const tag of manifest.tags) await tagImage(docker, manifest.id, tag);
    loaded = true;
  }
  // An image already here keeps whatever its tags name now: re-pointing them on every use would only move another
  // workspace's tags under it, and nothing of ours reads a tag.
  return loaded;
}

export interface PublishRequest {
  project: string;
  imageId: string;
  tags: string[];
  outputDir: string;
  /** The workspace whose store anchor the archive's link goes through. */
  workspaceRoot: string;
  base: ImageManifest['base'];
  definedBy: string;
  /** Where the one-line report of what was published goes. */
  log: (text: string) => void;
}

/**
 * Writes the image's product: the archive of `imageId` first (through a temporary file), the manifest last, so a
 * manifest on disk always describes a complete archive of the image it names.
 */
export async function publishImage(docker: Docker, req: PublishRequest): Promise<ImageManifest> {
  const { archive, manifest: manifestFile } = imageProductPaths(req.outputDir);
  const info = await inspectImage(docker, req.imageId);
  if (!info) throw new PharosError(`image ${req.imageId} vanished from the daemon before it was saved`, { step: 'save image' });
  for (const tag of req.tags) {
    const current = await inspectImage(docker, tag);
    if (current?.Id !== req.imageId) await tagImage(docker, req.imageId, tag);
  }
  // By ID, never by tag: a tag can move between the tagging above and the save (another run, another workspace on the
  // same daemon). The archive then carries no tag; ensureImage points the manifest's tags at the image it loads.
  const saved = await writeAtomically(archive, async (tmp) => {
    const s = await saveImage(docker, req.imageId, tmp);
    await storeProductFile(tmp, s.sha256, req);
    return s;
  });
  // Before the manifest, as the archive's blob is: a manifest on disk on CI means the image is in the team store.
  const pushed = await publishImageToTeamStore({ project: req.project, tags: req.tags, id: req.imageId, archiveSha256: saved.sha256, archive });
  if (pushed) req.log(`pharos: pushed ${req.tags[0] ?? req.project} to the team store as ${pushed}\n`);
  const manifest: ImageManifest = {
    schema: 1,
    project: req.project,
    id: req.imageId,
    tags: req.tags,
    size: info.Size,
    archive: IMAGE_ARCHIVE,
    archiveSha256: saved.sha256,
    archiveBytes: saved.bytes,
    base: req.base,
    definedBy: req.definedBy,
  };
  await writeImageManifest(manifestFile, manifest);
  req.log(`pharos: ${req.tags[0] ?? req.project} is ${manifest.id} (${manifest.archive}, ${(manifest.archiveBytes / 1e6).toFixed(0)} MB)\n`);
  return manifest;
}
