import { DEBS_MANIFEST, type DebsManifest } from '../../products/debs';
import type { ExecutorContext } from '@nx/devkit';
import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { assertDaemon, dockerClient } from '../../tools/docker';
import { sha256File } from '../../utils/digest';
import { dpkgBuildScript, parseBuiltDebs } from '../../tools/dpkg';
import { suiteImage } from '../../tools/suite-image';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { fetchRecipeSource, runLoggedBuild, selectRecipe, type SourceBuildOptions } from '../../lib/source-build/source-build';

export interface DebExecutorOptions extends SourceBuildOptions {
  suite: string;
  debugSymbols?: boolean;
  jobs?: number;
  outputPath?: string;
}

export default async function debExecutor(options: DebExecutorOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const selected = await selectRecipe(options, context);
    const { recipe, version } = selected;
    const outputDir = workspacePath(options.outputPath ?? `dist/{projectRoot}/${version.version}/${options.suite}`, context);
    await removeProducts([outputDir]);
    const { deb } = recipe;
    if (deb.suites && !deb.suites.includes(options.suite)) {
      throw new PharosError(`${recipe.name} is built for ${deb.suites.join(', ')}, not ${options.suite}`, {
        file: selected.recipeFile,
        next: `use --configuration=${deb.suites[0]}, or add ${options.suite} to deb.suites once upstream supports its kernel and compilers`,
      });
    }

    const source = await fetchRecipeSource(selected);
    process.stdout.write(`pharos: source ${source.file} (sha256 ${source.sha256.slice(0, 16)}…, from ${source.from})\n`);
    const docker = dockerClient();
    await assertDaemon(docker);
    const base = await suiteImage(docker, context, options.suite);

    await writeAtomically(outputDir, async (tmp) => {
      await mkdir(tmp, { recursive: true });
      const { output, shownLog } = await runLoggedBuild(docker, context, {
        what: `deb-${version.version}-${options.suite}`,
        announce: `${deb.build === 'make-package-deb' ? 'make package-deb' : 'dpkg-buildpackage'} of ${recipe.name} ${version.version} in debian:${options.suite}`,
        image: base.id,
        script: dpkgBuildScript({
          tarball: `/src/${source.file}`,
          outDir: '/out',
          jobs: options.jobs ?? availableParallelism(),
          debugSymbols: options.debugSymbols ?? true,
          uid: process.getuid?.() ?? 0,
          gid: process.getgid?.() ?? 0,
          build: deb.build,
          versionVariable: deb.versionVariable,
          release: version.version,
          buildPackages: deb.buildPackages,
          requires: version.requires,
          toolchain: `debian:${options.suite}`,
        }),
        binds: [`${source.path}:/src/${source.file}:ro`, `${tmp}:/out`],
        labels: { 'org.pharos.deb': label },
        label,
      });
      const built = parseBuiltDebs(output);
      if (!built.length) throw new PharosError(`${deb.build} succeeded but produced no .deb`, { file: shownLog, step: label });
      const manifest: DebsManifest = {
        schema: 1,
        project: context.projectName as string,
        version: version.version,
        suite: options.suite,
        source: { file: source.file, sha256: source.sha256 },
        builtOn: base.id,
        debs: await Promise.all(built.map(async (d) => ({
          ...d,
          sha256: await sha256File(join(tmp, d.file)),
          bytes: statSync(join(tmp, d.file)).size,
        }))),
      };
      await writeFile(join(tmp, DEBS_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    });
    process.stdout.write(`pharos: ${relative(context.root, outputDir)}: the .debs and ${DEBS_MANIFEST}\n`);
  });
}
