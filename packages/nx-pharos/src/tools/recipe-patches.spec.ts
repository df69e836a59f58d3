import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recipePatches } from './recipe-patches';

describe('recipe patches', () => {
  it("reads a version's patches from beside the recipe, with their digests, in the recipe's order", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-patches-'));
    mkdirSync(join(dir, 'patches'));
    writeFileSync(join(dir, 'patches/b.patch'), 'b\n');
    writeFileSync(join(dir, 'patches/a.patch'), 'a\n');
    const recipe = join(dir, 'recipe.yaml');
    // As messages show it: relative to the workspace.
    expect(recipePatches('recipe.yaml', { version: '1', patches: ['patches/a.patch'] }, dir)[0].path).toBe(join(dir, 'patches/a.patch'));
    const digest = (t: string) => createHash('sha256').update(t).digest('hex');
    expect(recipePatches(recipe, { version: '1', patches: ['patches/b.patch', 'patches/a.patch'] })).toEqual([
      { file: 'patches/b.patch', path: join(dir, 'patches/b.patch'), sha256: digest('b\n') },
      { file: 'patches/a.patch', path: join(dir, 'patches/a.patch'), sha256: digest('a\n') },
    ]);
    expect(recipePatches(recipe, { version: '1', patches: [] })).toEqual([]);
    expect(() => recipePatches(recipe, { version: '1', patches: ['patches/c.patch'] })).toThrow(
      expect.objectContaining({
        message: 'version 1 names the patch patches/c.patch, and there is no such file beside the recipe',
        details: expect.objectContaining({ file: recipe, next: 'add patches/c.patch beside the recipe, or remove it from versions.1.patches' }),
      }),
    );
  });
});
