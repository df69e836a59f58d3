import type { ExecutorContext } from '@nx/devkit';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { runExecutor, workspacePath } from '../../utils/executor';
import { fetchRecipeSource, selectRecipe, type SourceBuildOptions } from '../../lib/source-build/source-build';

export interface FetchExecutorOptions extends SourceBuildOptions {
  outputPath?: string;
}

/**
 * Puts the version's source into the source cache (outside the repo), verified. Its Nx product is `source.json`
 * (file, sha256, where it came from): small, so a cache restore is cheap, and the next target re-fetches through the
 * same code if this machine's source cache lacks the file.
 */
export default async function fetchExecutor(options: FetchExecutorOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const selected = await selectRecipe(options, context);
    const { recipe, version } = selected;
    const out = join(workspacePath(options.outputPath ?? `dist/{projectRoot}/${version.version}`, context), 'source.json');
    await removeProducts([out]);
    const fetched = await fetchRecipeSource(selected);
    const record = { schema: 1, name: recipe.name, version: version.version, file: fetched.file, sha256: fetched.sha256, from: fetched.from };
    await writeAtomically(out, (tmp) => writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`));
    process.stdout.write(`pharos: ${fetched.file} verified (sha256 ${fetched.sha256}) in ${fetched.path}\n`);
  });
}
