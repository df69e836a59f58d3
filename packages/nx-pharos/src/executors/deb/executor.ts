import type { ExecutorContext } from '@nx/devkit';
import { statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { parseSourceRecipe, recipeVersion } from '../../plugin/source-recipe';
import { optionalDebianMirror } from '../../tools/debian-mirror';
import { assertDaemon, dockerClient, runContainer, sha256File } from '../../tools/docker';
import { dpkgBuildScript, parseBuiltDebs } from '../../tools/dpkg';
import { buildFailure, buildLog, buildLogFile } from '../../utils/build-log';
import { fetchSource } from '../../tools/source-fetch';
import { suiteImage } from '../../tools/suite-image';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';

export interface DebExecutorOptions {
  recipe: string;
  /** A version of the recipe (not "version": that is Nx's own flag on the command line). */
  release?: string | number;
  suite: string;
  debugSymbols?: boolean;
  jobs?: number;
  outputPath?: string;
}

export const DEBS_MANIFEST = 'debs.json';

export interface DebsManifest {
  schema: 1;
  project: string;
  version: string;
  suite: string;
  source: { file: string; sha256: string };
  builtOn: string;
  debs: Array<{ file: string; package: string; version: string; architecture: string; sha256: string; bytes: number }>;
}

export default async function debExecutor(options: DebExecutorOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const recipeFile = workspacePath(options.recipe, context);
    const shownRecipe = relative(context.root, recipeFile);
    const recipe = parseSourceRecipe(await readFile(recipeFile, 'utf8'), shownRecipe);
    const version = recipeVersion(recipe, options.release, shownRecipe);
    const outputDir = workspacePath(options.outputPath ?? `dist/{projectRoot}/${version.version}/${options.suite}`, context);
    await removeProducts([outputDir]);

    const source = await fetchSource({
      what: `${recipe.name} ${version.version}`,
      sources: version.sources,
      debianMirror: optionalDebianMirror(),
      log: (t) => process.stdout.write(`pharos: ${t}`),
    });
    process.stdout.write(`pharos: source ${source.file} (sha256 ${source.sha256.slice(0, 16)}…, from ${source.from})\n`);

    const docker = dockerClient();
    await assertDaemon(docker);
    const base = await suiteImage(docker, context, options.suite);
    const logFile = await buildLogFile(context, `deb-${version.version}-${options.suite}`);
    const shownLog = relative(context.root, logFile);
    process.stdout.write(`pharos: dpkg-buildpackage in debian:${options.suite}; full log: ${shownLog}\n`);

    await writeAtomically(outputDir, async (tmp) => {
      await mkdir(tmp, { recursive: true });
      const log = buildLog(logFile);
      const script = dpkgBuildScript({
        tarball: `/src/${source.file}`,
        outDir: '/out',
        jobs: options.jobs ?? availableParallelism(),
        debugSymbols: options.debugSymbols ?? true,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
      });
      let code: number;
      try {
        code = await runContainer(docker, {
          image: base.id,
          cmd: ['sh', '-c', script],
          binds: [`${source.path}:/src/${source.file}:ro`, `${tmp}:/out`],
          labels: { 'org.pharos.deb': label },
        }, { stdout: log.stream, stderr: log.stream });
      } finally {
        await log.close();
      }
      if (code !== 0) throw buildFailure(log.text(), code, shownLog, label);
      const built = parseBuiltDebs(log.text());
      if (!built.length) throw new PharosError('dpkg-buildpackage succeeded but produced no .deb', { file: shownLog, step: label });
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
