import { hasPinnedSource, type PinnedSource, type SourceRecipe } from '../../definitions/source-recipe';
import { defaultSuite } from '../../products/source';
import { compareVersions } from '../../utils/version-order';

/**
 * `pharos avail`: what each recipe (`third-party/<name>/recipe.yaml`) can build: its versions (the default marked),
 * whether each has a pinned source (the recipe's or the site's), the suites its .debs are built for, its tarball
 * variants and whether it has a tarball at all. Pure: the parsed recipes, the base images' suites and the site's pins
 * in, rows and text out. The overlays that can be built are the overlay catalogue's rows (lib/overlay/catalog.ts).
 */

export interface RecipeInput {
  file: string;
  recipe?: SourceRecipe;
  /** Why the recipe could not be read (its file:line message). */
  error?: string;
  /** `tarball/module.lua.hbs` beside it: the project has a `tarball` target. */
  hasTarball: boolean;
}

/** recipe: the recipe's own sha256; site: the site's sources config pins it; no: nothing pins it (fetch cannot run). */
export type Pinned = 'recipe' | 'site' | 'no';

export interface AvailRow {
  project: string;
  recipe: string;
  version?: string;
  default?: boolean;
  pinned?: Pinned;
  /** An optional recipe: the images are built without it while its source is not pinned. */
  optional?: boolean;
  suites?: string[];
  /** The tarball's suite when `--suite` is not given; undefined without a tarball. */
  tarballSuite?: string;
  variants?: string[];
  error?: string;
}

/** How a version's sources are pinned, with the site's pins applied by `withPins` (source-fetch.ts withSitePins). */
function pinnedBy(sources: PinnedSource[], withPins: (s: PinnedSource[]) => PinnedSource[]): Pinned {
  // Applied even when the recipe pins: a site pin that contradicts the recipe's is an error fetch would raise too.
  const withSite = withPins(sources);
  if (hasPinnedSource(sources)) return 'recipe';
  return hasPinnedSource(withSite) ? 'site' : 'no';
}

export function availRows(recipes: readonly RecipeInput[], baseSuites: readonly string[], withPins: (s: PinnedSource[]) => PinnedSource[]): AvailRow[] {
  return [...recipes]
    .sort((a, b) => a.file.localeCompare(b.file))
    .flatMap((input): AvailRow[] => {
      const { recipe } = input;
      if (!recipe) return [{ project: input.file.split('/').slice(-2)[0], recipe: input.file, error: input.error }];
      const suites = recipe.deb.suites ? baseSuites.filter((s) => recipe.deb.suites?.includes(s)) : [...baseSuites];
      const versions = Object.keys(recipe.versions).sort((a, b) => -compareVersions(a, b));
      return versions.map((version): AvailRow => {
        const v = recipe.versions[version];
        let pinned: Pinned;
        try {
          // A source and its packaging must both be pinned: the less pinned of the two says what fetch can do.
          const of = [pinnedBy(v.sources, withPins), ...(v.packaging.length ? [pinnedBy(v.packaging, withPins)] : [])];
          pinned = of.includes('no') ? 'no' : of.includes('site') ? 'site' : 'recipe';
        } catch (err) {
          return { project: recipe.name, recipe: input.file, version, error: (err as Error).message };
        }
        return {
          project: recipe.name,
          recipe: input.file,
          version,
          default: version === recipe.defaultVersion,
          pinned,
          ...(recipe.optional ? { optional: true } : {}),
          suites,
          ...(input.hasTarball ? { tarballSuite: defaultSuite(suites), variants: Object.keys(recipe.variants).sort() } : {}),
        };
      });
    });
}

const PINNED_TEXT: Record<Pinned, string> = { recipe: 'yes', site: 'yes (site)', no: 'no' };

export function formatAvail(rows: readonly AvailRow[]): string {
  const cells = rows.map((r) =>
    r.error && !r.version
      ? [r.project, '-', '-', '-', '-', '-']
      : [
          r.project,
          `${r.version}${r.default ? ' (default)' : ''}`,
          r.error ? 'error' : `${PINNED_TEXT[r.pinned ?? 'no']}${r.pinned === 'no' && r.optional ? ', optional' : ''}`,
          r.suites?.join(' ') || '-',
          r.tarballSuite ? `yes (${r.tarballSuite})` : 'no',
          r.variants?.length ? r.variants.join(' ') : '-',
        ],
  );
  const header = ['RECIPE', 'VERSION', 'PINNED', 'DEB SUITES', 'TARBALL', 'VARIANTS'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `${c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ')}\n`;
  return [line(header), ...rows.flatMap((r, i) => [line(cells[i]), ...(r.error ? [`    error: ${r.error}\n`] : [])])].join('');
}
