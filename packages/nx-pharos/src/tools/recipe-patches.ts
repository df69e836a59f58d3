import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RecipeVersion } from '../definitions/source-recipe';
import { PharosError } from '../utils/errors';

/** A patch a version's deb build applies: as the recipe names it, where it is, and its digest (a cache input). */
export interface RecipePatch {
  /** Relative to the recipe's folder, as written in the recipe. */
  file: string;
  path: string;
  sha256: string;
}

/**
 * The version's patches, read from beside the recipe (`recipeFile` relative to `root`, as messages show it). A missing
 * one is an error naming the recipe: the build would silently differ without it.
 */
export function recipePatches(recipeFile: string, version: Pick<RecipeVersion, 'version' | 'patches'>, root = process.cwd()): RecipePatch[] {
  return version.patches.map((file) => {
    const path = resolve(root, dirname(recipeFile), file);
    if (!existsSync(path)) {
      throw new PharosError(`version ${version.version} names the patch ${file}, and there is no such file beside the recipe`, {
        file: recipeFile,
        next: `add ${file} beside the recipe, or remove it from versions.${version.version}.patches`,
      });
    }
    return { file, path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
  });
}
