import type Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { writeAtomically } from '../utils/atomic-file';
import { PharosError } from '../utils/errors';
import { inspectImage, loadImage, saveImage, tagImage } from './docker';
import { assertFileDigest } from '../utils/digest';

/**
 * `image.json`, written next to `image.tar` under dist/. It is the product contract between targets: consumers hash
 * it (so a rebuilt base rebuilds them) and use it to put the exact image back into a daemon that lacks it.
 */
export interface ImageManifest {
  schema: 1;
  project: string;
  /** The image ID (sha256 of its config): what consumers run, never a tag. */
  id: string;
  tags: string[];
  /** Uncompressed size the daemon reports. */
  size: number;
  /** Archive file name, relative to the manifest. */
  archive: string;
  archiveSha256: string;
  archiveBytes: number;
  /** What the image was built from: registry refs or bootstrap details. */
  base: Array<{ ref: string; id?: string; source?: string }>;
  /** The file or step that defined the image, for messages. */
  definedBy: string;
}

export const IMAGE_ARCHIVE = 'image.tar';
export const IMAGE_MANIFEST = 'image.json';

export function imageProductPaths(outputDir: string): { archive: string; manifest: string } {
  return { archive: join(outputDir, IMAGE_ARCHIVE), manifest: join(outputDir, IMAGE_MANIFEST) };
}

export function parseImageManifest(text: string, file: string): ImageManifest {
  let data: Partial<ImageManifest>;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PharosError(`not valid JSON (${(err as Error).message})`, { file, next: 'rebuild the image target that writes it' });
  }
  for (const key of ['id', 'project', 'archive', 'archiveSha256'] as const) {
    if (typeof data[key] !== 'string' || !data[key]) {
      throw new PharosError(`image manifest lacks "${key}"`, { file, next: 'rebuild the image target that writes it' });
    }
  }
  if (data.schema !== 1) throw new PharosError(`unsupported manifest schema ${data.schema}`, { file });
  return data as ImageManifest;
}

export function readImageManifest(file: string, workspaceRoot: string, producer?: string): ImageManifest {
  const shown = relative(workspaceRoot, file) || file;
  if (!existsSync(file)) {
    throw new PharosError('image manifest not found', {
      file: shown,
      next: producer ? `build it: npx nx run ${producer}` : 'build the project that produces this image',
    });
  }
  return parseImageManifest(readFileSync(file, 'utf8'), shown);
}

export async function writeImageManifest(file: string, manifest: ImageManifest): Promise<void> {
  await writeAtomically(file, (tmp) => writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 }));
}

/** The archive is the one the manifest describes (a truncated copy or a bad restore would load a different image). */
export async function assertArchiveMatches(archive: string, manifest: ImageManifest, shownPath = archive): Promise<void> {
  await assertFileDigest(archive, manifest.archiveSha256, { what: 'the image archive', shown: shownPath, rebuild: `npx nx run ${manifest.project}:image --skip-nx-cache` });
}

/**
 * Makes the manifest's image present in the daemon, loading the archive when it is missing (a cache hit on a machine
 * that never built it, or after `docker rmi`), and points the manifest's tags at it so `FROM <tag>` builds on it.
 * Returns true when the archive had to be loaded.
 */
export async function ensureImage(docker: Docker, manifestFile: string, manifest: ImageManifest, log: (t: string) => void = () => undefined): Promise<boolean> {
  let loaded = false;
  if (!(await inspectImage(docker, manifest.id))) {
    const archive = join(dirname(manifestFile), manifest.archive);
    if (!existsSync(archive)) {
      throw new PharosError(`image ${manifest.id.slice(0, 19)} is not in the daemon and its archive is missing`, {
        file: archive,
        next: `rebuild it: npx nx run ${manifest.project}:image --skip-nx-cache`,
      });
    }
    await assertArchiveMatches(archive, manifest);
    log(`loading ${manifest.project} image from ${archive}\n`);
    await loadImage(docker, archive).catch((err: Error) => {
      throw new PharosError(`docker load failed: ${err.message}`, { file: archive, next: `rebuild it: npx nx run ${manifest.project}:image --skip-nx-cache` });
    });
    if (!(await inspectImage(docker, manifest.id))) {
      throw new PharosError(`loading the archive did not produce image ${manifest.id}`, { file: archive, next: `rebuild it: npx nx run ${manifest.project}:image --skip-nx-cache` });
    }
    loaded = true;
  }
  for (const tag of manifest.tags) {
    const current = await inspectImage(docker, tag);
    if (current?.Id !== manifest.id) await tagImage(docker, manifest.id, tag);
  }
  return loaded;
}

export interface PublishRequest {
  project: string;
  imageId: string;
  tags: string[];
  outputDir: string;
  base: ImageManifest['base'];
  definedBy: string;
  /** Where the one-line report of what was published goes. */
  log: (text: string) => void;
}

/**
 * Writes the image's product: the archive first (through a temporary file), the manifest last, so a manifest on disk
 * always describes a complete archive.
 */
export async function publishImage(docker: Docker, req: PublishRequest): Promise<ImageManifest> {
  const { archive, manifest: manifestFile } = imageProductPaths(req.outputDir);
  const info = await inspectImage(docker, req.imageId);
  if (!info) throw new PharosError(`image ${req.imageId} vanished from the daemon before it was saved`, { step: 'save image' });
  for (const tag of req.tags) {
    const current = await inspectImage(docker, tag);
    if (current?.Id !== req.imageId) await tagImage(docker, req.imageId, tag);
  }
  const saved = await writeAtomically(archive, (tmp) => saveImage(docker, req.tags[0] ?? req.imageId, tmp));
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
