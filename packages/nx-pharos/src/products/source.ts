/**
 * What every source-build product shares: the suites a recipe builds for, `source.json` (the verified source a
 * version was built from).
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
