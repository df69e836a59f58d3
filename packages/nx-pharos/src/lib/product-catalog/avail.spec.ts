import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSourceRecipe } from '../../definitions/source-recipe';
import { withSitePins } from '../../tools/source-fetch';
import { availRows, formatAvail, type RecipeInput } from './avail';

/** The tree's own recipes, as `pharos avail` reads them. */
const WORKSPACE = resolve(__dirname, '../../../../..');
const recipe = (name: string, hasTarball: boolean): RecipeInput => {
  const file = `third-party/${name}/recipe.yaml`;
  return { file, hasTarball, recipe: parseSourceRecipe(readFileSync(join(WORKSPACE, file), 'utf8'), file) };
};
const SUITES = ['bookworm', 'trixie'];
const noPins = (s: Parameters<typeof withSitePins>[0]) => withSitePins(s, {}, {});

describe('availRows', () => {
  it("lists each recipe's versions, newest first, with the default, pins, suites, tarball and variants", () => {
    const rows = availRows([recipe('slurm', true), recipe('beegfs', false)], SUITES, noPins);
    expect(rows.map((r) => [r.project, r.version, r.default, r.pinned, r.suites])).toEqual([
      ['beegfs', '8.1.0', false, 'no', ['bookworm']],
      ['beegfs', '7.4.7', true, 'no', ['bookworm']],
      ['slurm', '26.05.5', false, 'recipe', SUITES],
      ['slurm', '24.11.5', true, 'recipe', SUITES],
    ]);
    expect(rows[3]).toMatchObject({ tarballSuite: 'trixie', variants: ['gpu', 'minimal'] });
    expect(rows[0]).toMatchObject({ optional: true });
    expect(rows[0].tarballSuite).toBeUndefined();
  });

  it("counts a site's pin (the sources config) as pinned, and says so", () => {
    const pins = { 'beegfs-7.4.7.tar.gz': 'a'.repeat(64) };
    const rows = availRows([recipe('beegfs', false)], SUITES, (s) => withSitePins(s, pins, {}));
    expect(rows.map((r) => [r.version, r.pinned])).toEqual([
      ['8.1.0', 'no'],
      ['7.4.7', 'site'],
    ]);
    expect(formatAvail(rows)).toBe(
      [
        'RECIPE  VERSION          PINNED        DEB SUITES  TARBALL  VARIANTS',
        'beegfs  8.1.0            no, optional  bookworm    no       -',
        'beegfs  7.4.7 (default)  yes (site)    bookworm    no       -',
        '',
      ].join('\n'),
    );
  });

  it('shows a recipe that does not parse, and a site pin that contradicts the recipe, as errors', () => {
    const broken: RecipeInput = { file: 'third-party/broken/recipe.yaml', hasTarball: false, error: 'third-party/broken/recipe.yaml:3: unknown key "vesions"' };
    const contradicting = (s: Parameters<typeof withSitePins>[0]) => withSitePins(s, { 'slurm-wlm_24.11.5.orig.tar.gz': 'f'.repeat(64) }, {});
    const rows = availRows([broken, recipe('slurm', true)], SUITES, contradicting);
    expect(rows[0]).toEqual({ project: 'broken', recipe: broken.file, error: broken.error });
    expect(rows.find((r) => r.version === '24.11.5')?.error).toContain('but the recipe pins');
    expect(formatAvail(rows)).toContain(`    error: ${broken.error}\n`);
  });
});
