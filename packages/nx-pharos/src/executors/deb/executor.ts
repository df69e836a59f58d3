import type { ExecutorContext } from '@nx/devkit';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { fetchRecipePackaging, fetchRecipeSource, runLoggedBuild, suiteEngine } from '../../lib/source-build/source-build';
import { normalizeOptions, type SourceBuildOptions } from '../../lib/source-build/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { DEBS_MANIFEST, type AbsentDebsManifest, type BuiltDebsManifest } from '../../products/debs';
import { writeManifest } from '../../products/manifest';
import { absenceLine } from '../../products/source';
import { hashAndStore } from '../../products/store-files';
import { resolveDebianMirror } from '../../tools/debian-mirror';
import { buildFromSummary, DPKG_BUILD_SCRIPT, dpkgBuildEnv, parseBuiltDebs, parseBuiltFrom } from '../../tools/dpkg';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import type { ProductLockOptions } from '../../utils/executor';

export interface DebExecutorOptions extends Pick<SourceBuildOptions, 'recipe' | 'release' | 'jobs' | 'outputPath'>, ProductLockOptions {
  suite: string;
  debugSymbols?: boolean;
}

/**
 * The .debs of one version for one suite, built in a clean container of the suite, and their debs.json; for an optional
 * recipe with no pinned source, a debs.json that records the absence and no .debs.
 */
export default async function debExecutor(options: DebExecutorOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const build = normalizeOptions(options, context, 'deb');
    const { recipe, version, release, suite, label } = build;
    const outputDir = build.debsDir;
    await run.lockProduct(context, outputDir, options);
    await removeProducts([outputDir]);
    const { deb } = recipe;
    if (build.absence) {
      const manifest: AbsentDebsManifest = { schema: 1, project: build.project, version: release, suite, absent: build.absence, debs: [] };
      await writeManifest(join(outputDir, DEBS_MANIFEST), manifest);
      process.stdout.write(absenceLine(recipe.name, release, build.absence, `no .debs for ${suite}, and the VM images leave it out`));
      return;
    }

    const source = await fetchRecipeSource(build);
    process.stdout.write(`pharos: source ${source.file} (sha256 ${source.sha256.slice(0, 16)}…, from ${source.from})\n`);
    const packaging = await fetchRecipePackaging(build);
    if (packaging) process.stdout.write(`pharos: packaging ${packaging.file} (sha256 ${packaging.sha256.slice(0, 16)}…, from ${packaging.from})\n`);
    // Asked only when other suites are named: the build container takes them from the archive its suite came from.
    const debianMirror = deb.buildFrom?.length ? resolveDebianMirror() : undefined;
    if (deb.buildFrom?.length) process.stdout.write(`pharos: build dependencies from ${buildFromSummary(deb.buildFrom)}\n`);
    // Numbered: two patches may share a name in different folders.
    const patches = build.patches.map((p, i) => ({ ...p, inContainer: `/patches/${i + 1}-${basename(p.file)}` }));
    for (const p of patches) process.stdout.write(`pharos: patch ${p.file} (sha256 ${p.sha256.slice(0, 16)}…)\n`);
    const { docker, base } = await suiteEngine(context, suite);

    await writeAtomically(outputDir, async (tmp) => {
      await mkdir(tmp, { recursive: true });
      const { output, shownLog } = await runLoggedBuild(docker, context, {
        what: `deb-${release}-${suite}`,
        announce: `${deb.build === 'make-package-deb' ? 'make package-deb' : 'dpkg-buildpackage'} of ${recipe.name} ${release} in debian:${suite}`,
        image: base.id,
        script: DPKG_BUILD_SCRIPT,
        env: dpkgBuildEnv({
          tarball: `/src/${source.file}`,
          outDir: '/out',
          jobs: build.jobs,
          debugSymbols: options.debugSymbols ?? true,
          uid: build.uid,
          gid: build.gid,
          build: deb.build,
          versionVariable: deb.versionVariable,
          release,
          buildPackages: deb.buildPackages,
          requires: version.requires,
          toolchain: `debian:${suite}`,
          packagingTarball: packaging && `/src/${packaging.file}`,
          buildFrom: deb.buildFrom,
          debianMirror,
          unprivileged: deb.unprivileged,
          patches: patches.map((p) => p.inContainer),
        }),
        binds: [
          `${source.path}:/src/${source.file}:ro`,
          ...(packaging ? [`${packaging.path}:/src/${packaging.file}:ro`] : []),
          ...patches.map((p) => `${p.path}:${p.inContainer}:ro`),
          `${tmp}:/out`,
        ],
        labels: { 'org.pharos.deb': label },
        label,
      });
      const built = parseBuiltDebs(output);
      if (!built.length) throw new PharosError(`${deb.build} succeeded but produced no .deb`, { file: shownLog, step: label });
      const manifest: BuiltDebsManifest = {
        schema: 1,
        project: build.project,
        version: release,
        suite,
        source: { file: source.file, sha256: source.sha256 },
        ...(packaging ? { packaging: { file: packaging.file, sha256: packaging.sha256 } } : {}),
        ...(patches.length ? { patches: patches.map(({ file, sha256 }) => ({ file, sha256 })) } : {}),
        builtOn: base.id,
        ...(deb.buildFrom?.length ? { buildFrom: parseBuiltFrom(output) } : {}),
        debs: await Promise.all(built.map(async (d) => ({ ...d, ...(await hashAndStore(join(tmp, d.file), { workspaceRoot: context.root })) }))),
      };
      await writeFile(join(tmp, DEBS_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    });
    process.stdout.write(`pharos: ${relative(context.root, outputDir)}: the .debs and ${DEBS_MANIFEST}\n`);
  });
}
