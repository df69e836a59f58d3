import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { writeAtomically } from '../utils/atomic-file';
import { PharosError } from '../utils/errors';

/**
 * Every product's manifest is JSON with `schema: 1`, written last and atomically, and read the same way: a missing
 * manifest names the task that makes it, a damaged one says to rebuild it.
 */
export interface ManifestKind {
  /** The product, for messages: "image", "SIF", ".deb", "VM image". */
  what: string;
  /** Keys that must hold a non-empty string. */
  required: readonly string[];
}

/** The manifest in `text`; `shown` is the file as the user sees it, `next` what to do when it is damaged. */
export function parseManifest<T>(text: string, shown: string, kind: ManifestKind, next: string): T {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PharosError(`not valid JSON (${(err as Error).message})`, { file: shown, next });
  }
  for (const key of kind.required) {
    if (typeof data?.[key] !== 'string' || !data[key]) throw new PharosError(`${kind.what} manifest lacks "${key}"`, { file: shown, next });
  }
  if (data.schema !== 1) throw new PharosError(`unsupported manifest schema ${String(data.schema)}`, { file: shown, next });
  return data as T;
}

/** The manifest at `file`; `producer` (e.g. `slurm:deb-trixie`) is the task that writes it, named in every error. */
export function readManifest<T>(file: string, workspaceRoot: string, kind: ManifestKind, producer?: string): T {
  const shown = relative(workspaceRoot, file) || file;
  if (!existsSync(file)) {
    throw new PharosError(`no ${kind.what} manifest`, {
      file: shown,
      next: producer ? `build it: npx nx run ${producer}` : `build the project that produces this ${kind.what}`,
    });
  }
  const next = producer ? `rebuild it: npx nx run ${producer} --skip-nx-cache` : `rebuild the ${kind.what} target that writes it`;
  return parseManifest<T>(readFileSync(file, 'utf8'), shown, kind, next);
}

/** Writes a manifest through a temporary file, so a reader never sees half of one. */
export async function writeManifest(file: string, manifest: object): Promise<void> {
  await writeAtomically(file, (tmp) => writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 }));
}
