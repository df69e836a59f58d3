import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeAtomically } from '../utils/atomic-file';
import { assertFileDigest } from '../utils/digest';
import { PharosError } from '../utils/errors';
import { productDir } from './paths';

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
  if (data.schema !== 1) throw new PharosError(`unsupported manifest schema ${data.schema}`, { file, next: 'rebuild the image target that writes it' });
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
  await assertFileDigest(archive, manifest.archiveSha256, {
    what: 'the image archive',
    shown: shownPath,
    rebuild: `npx nx run ${manifest.project}:image --skip-nx-cache`,
  });
}
