import type { ExecutorContext } from '@nx/devkit';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseSourceRecipe, recipeVersion } from '../../plugin/source-recipe';
import { optionalDebianMirror } from '../../tools/debian-mirror';
import { fetchSource } from '../../tools/source-fetch';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { runExecutor, workspacePath } from '../../utils/executor';

export interface FetchExecutorOptions {
  recipe: string;
  /** A version of the recipe (not "version": that is Nx's own flag on the command line). */
  release?: string | number;
  outputPath?: string;
}

/**
 * Puts the version's source into the source cache (outside the repo), verified. Its Nx product is `source.json`
 * (file, sha256, where it came from): small, so a cache restore is cheap, and the next target re-fetches through the
 * same code if this machine's source cache lacks the file.
 */
export default async function fetchExecutor(options: FetchExecutorOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const recipeFile = workspacePath(options.recipe, context);
    const shown = relative(context.root, recipeFile);
    const recipe = parseSourceRecipe(await readFile(recipeFile, 'utf8'), shown);
    const version = recipeVersion(recipe, options.release, shown);
    const out = join(workspacePath(options.outputPath ?? `dist/{projectRoot}/${version.version}`, context), 'source.json');
    await removeProducts([out]);
    const fetched = await fetchSource({
      what: `${recipe.name} ${version.version}`,
      sources: version.sources,
      debianMirror: optionalDebianMirror(),
      log: (t) => process.stdout.write(`pharos: ${t}`),
    });
    const record = { schema: 1, name: recipe.name, version: version.version, file: fetched.file, sha256: fetched.sha256, from: fetched.from };
    await writeAtomically(out, (tmp) => writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`));
    process.stdout.write(`pharos: ${fetched.file} verified (sha256 ${fetched.sha256}) in ${fetched.path}\n`);
  });
}
