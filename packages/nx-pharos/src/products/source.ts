import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { PharosError } from '../utils/errors';

/**
 * What every source-build product shares: the suites a recipe builds for, `source.json` (the verified source a
 * version was built from), and how a product's manifest is read.
 */

/** The suite a source build uses when none is named, if it builds for it. */
export const DEFAULT_SUITE = 'trixie';

/** The default among the suites a recipe builds for: trixie when present, else the first. */
export function defaultSuite(suites: readonly string[]): string {
  return suites.length && !suites.includes(DEFAULT_SUITE) ? suites[0] : DEFAULT_SUITE;
}

/** `source.json`, the product of `fetch`, in the version's folder (products/paths.ts releaseDir). */
export const SOURCE_RECORD = 'source.json';

export interface SourceRecord {
  schema: 1;
  name: string;
  version: string;
  file: string;
  sha256: string;
  from: string;
}

/**
 * A product's manifest, or an error naming the file and the task that makes it (`producer`, e.g. `slurm:deb-trixie`).
 * `what` names the product in the message: "no <what> manifest".
 */
export function readProductManifest<T>(file: string, what: string, producer: string, workspaceRoot: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    throw new PharosError(`no ${what} manifest`, { file: relative(workspaceRoot, file), next: `build it: npx nx run ${producer}` });
  }
}
