import { hasPinnedSource, type PinnedSource, type SourceRecipe } from '../definitions/source-recipe';

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

export type SourceRecord = FetchedSourceRecord | AbsentSourceRecord;

export interface FetchedSourceRecord {
  schema: 1;
  name: string;
  version: string;
  available: true;
  file: string;
  sha256: string;
  from: string;
  /** The version's packaging tarball (its `debian/`), when the recipe names one. */
  packaging?: { file: string; sha256: string; from: string };
}

/** An optional package with no pinned source: fetch and deb say so in their products, and the images leave it out. */
export interface AbsentSourceRecord {
  schema: 1;
  name: string;
  version: string;
  available: false;
  absent: SourceAbsence;
}

/** Why a package's source is absent, what the images lose, and how to add it: the same words everywhere it is shown. */
export interface SourceAbsence {
  /** The recipe's `optional.why`. */
  why: string;
  reason: string;
  next: string;
}

/**
 * The absence of an optional recipe's source, or undefined when it has a pinned source or is not optional (its fetch
 * then fails as any other). `pinned` is decided from the recipe and the site's pins, never the network, so the same
 * inputs always give the same product. The words name no machine's paths: they are part of a cached product.
 */
export function sourceAbsence(
  recipe: Pick<SourceRecipe, 'name' | 'optional'>,
  version: string,
  sources: readonly PinnedSource[],
  recipeFile: string,
  packaging: readonly PinnedSource[] = [],
): SourceAbsence | undefined {
  if (!recipe.optional) return undefined;
  // A source without its packaging builds nothing either: the first of the two that has no pin is the one to pin.
  const unpinned = [sources, packaging].find((list) => list.length && !hasPinnedSource(list));
  if (!unpinned) return undefined;
  const files = [...new Set(unpinned.map((s) => s.file))].join(' or ');
  const offline =
    `put the file on a mirror named in PHAROS_SOURCE_MIRRORS and pin its sha256 under "pins:" in the sources config ` +
    `(PHAROS_SOURCES_CONFIG, or ~/.config/pharos/sources.yaml); docs/third-party.md#optional-packages`;
  if (unpinned === packaging) {
    // `npm run pin` picks among the sources only.
    return {
      why: recipe.optional.why,
      reason: `no packaging tarball of ${recipe.name} ${version} has a pinned sha256, in ${recipeFile} or in the site's sources config`,
      next: `to build ${recipe.name} in: pin ${files} in ${recipeFile}, or ${offline}`,
    };
  }
  return {
    why: recipe.optional.why,
    reason: `no source of ${recipe.name} ${version} has a pinned sha256, in ${recipeFile} or in the site's sources config`,
    next: `to build ${recipe.name} in: npm run pin -- ${recipeFile} (downloads ${files}, shows its sha256 and pins it for this site), or, offline, ${offline}`,
  };
}

/** The loud line every task that meets an absent source prints. */
export function absenceLine(name: string, version: string, absent: SourceAbsence, consequence: string): string {
  return `pharos: WITHOUT ${name} ${version}: ${absent.reason}; ${consequence} (${name}: ${absent.why}). Next: ${absent.next}\n`;
}
