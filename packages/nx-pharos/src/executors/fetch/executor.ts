import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { fetchRecipePackaging, fetchRecipeSource } from '../../lib/source-build/source-build';
import { normalizeOptions, type SourceBuildOptions } from '../../lib/source-build/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { writeManifest } from '../../products/manifest';
import { absenceLine, SOURCE_RECORD, type SourceRecord } from '../../products/source';
import { removeProducts } from '../../utils/atomic-file';
import type { ProductLockOptions } from '../../utils/executor';

export type FetchExecutorOptions = Pick<SourceBuildOptions, 'recipe' | 'release' | 'outputPath'> & ProductLockOptions;

/**
 * Puts the version's source, and its packaging tarball when the recipe names one, into the source cache (outside the
 * repo), verified. Its Nx product is `source.json` (file, sha256, where it came from): small, so a cache restore is cheap, and the next target re-fetches through the
 * same code if this machine's source cache lacks the file. An optional recipe with no pinned source writes a
 * source.json that says it is absent, why, and how to pin it.
 */
export default async function fetchExecutor(options: FetchExecutorOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const build = normalizeOptions(options, context, 'fetch');
    const out = join(build.releaseDir, SOURCE_RECORD);
    await run.lockProduct(context, out, options);
    await removeProducts([out]);
    const { name } = build.recipe;
    if (build.absence) {
      // An optional package with nothing pinned: a product that says so, so the pipeline goes on without it.
      const record: SourceRecord = { schema: 1, name, version: build.release, available: false, absent: build.absence };
      await writeManifest(out, record);
      process.stdout.write(absenceLine(name, build.release, build.absence, 'no source fetched, and the VM images leave it out'));
      return;
    }
    const fetched = await fetchRecipeSource(build);
    const packaging = await fetchRecipePackaging(build);
    const record: SourceRecord = {
      schema: 1,
      name,
      version: build.release,
      available: true,
      file: fetched.file,
      sha256: fetched.sha256,
      from: fetched.from,
      ...(packaging ? { packaging: { file: packaging.file, sha256: packaging.sha256, from: packaging.from } } : {}),
    };
    await writeManifest(out, record);
    for (const f of [fetched, ...(packaging ? [packaging] : [])]) process.stdout.write(`pharos: ${f.file} verified (sha256 ${f.sha256}) in ${f.path}\n`);
  });
}
