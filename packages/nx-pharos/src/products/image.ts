import { join } from 'node:path';
import { parseManifest, readManifest, writeManifest } from './manifest';
import { productDir } from './paths';
import { assertProductDigest } from './store-files';

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

/**
 * The project whose image holds the tools the host lacks (Apptainer for SIF targets, `tools/run-in-dev-container`).
 * Inference makes it a dependency of every container; executors look its image up under this name.
 */
export const DEV_CONTAINER_PROJECT = 'dev-container';

/** An image project's product folder, workspace-relative (`projectRoot` may be Nx's `{projectRoot}` token). */
export function imageDir(projectRoot: string): string {
  return productDir(projectRoot);
}

export function imageManifestPath(projectRoot: string): string {
  return productDir(projectRoot, IMAGE_MANIFEST);
}

export function imageProductPaths(outputDir: string): { archive: string; manifest: string } {
  return { archive: join(outputDir, IMAGE_ARCHIVE), manifest: join(outputDir, IMAGE_MANIFEST) };
}

const IMAGE_KIND = { what: 'image', required: ['id', 'project', 'archive', 'archiveSha256'] } as const;

export function parseImageManifest(text: string, file: string): ImageManifest {
  return parseManifest<ImageManifest>(text, file, IMAGE_KIND, 'rebuild the image target that writes it');
}

export function readImageManifest(file: string, workspaceRoot: string, producer?: string): ImageManifest {
  return readManifest<ImageManifest>(file, workspaceRoot, IMAGE_KIND, producer);
}

export const writeImageManifest: (file: string, manifest: ImageManifest) => Promise<void> = writeManifest;

/** The archive is the one the manifest describes (a truncated copy or a bad restore would load a different image). */
export async function assertArchiveMatches(archive: string, manifest: ImageManifest, shownPath = archive): Promise<void> {
  await assertProductDigest(archive, imageArchiveExpected(manifest), { what: 'the image archive', shown: shownPath, rebuild: rebuildImage(manifest) });
}

/** What the archive must be: the manifest's digest and size. */
export function imageArchiveExpected(manifest: ImageManifest): { sha256: string; bytes?: number } {
  return { sha256: manifest.archiveSha256, bytes: manifest.archiveBytes };
}

export function rebuildImage(manifest: Pick<ImageManifest, 'project'>): string {
  return `npx nx run ${manifest.project}:image --skip-nx-cache`;
}
