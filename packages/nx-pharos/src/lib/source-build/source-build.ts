import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { parseSourceRecipe, recipeVersion, type RecipeVersion, type SourceRecipe } from '../../definitions/source-recipe';
import { optionalDebianMirror } from '../../tools/debian-mirror';
import { runContainer } from '../../tools/docker';
import { configuredPins, fetchSource, withSitePins, type FetchedSource } from '../../tools/source-fetch';
import { buildFailure, buildLog, buildLogFile } from '../../utils/build-log';
import { workspacePath } from '../../utils/executor';

/**
 * What every source-build executor (fetch, deb, tarball, verify) starts from: the recipe, the version asked for, and
 * the verified source in the cache. One place, so Slurm and BeeGFS share the same checks and messages.
 */
export interface SourceBuildOptions {
  recipe: string;
  /** A version of the recipe (not "version": that is Nx's own flag on the command line). */
  release?: string | number;
}

export interface SelectedRecipe {
  recipe: SourceRecipe;
  version: RecipeVersion;
  /** The recipe's path relative to the workspace, for messages. */
  recipeFile: string;
}

export async function selectRecipe(options: SourceBuildOptions, context: ExecutorContext): Promise<SelectedRecipe> {
  const absolute = workspacePath(options.recipe, context);
  const recipeFile = relative(context.root, absolute);
  const recipe = parseSourceRecipe(await readFile(absolute, 'utf8'), recipeFile);
  return { recipe, version: recipeVersion(recipe, options.release, recipeFile), recipeFile };
}

/** The version's source, verified, from the cache or the first source that serves the pinned digest. */
export function fetchRecipeSource({ recipe, version }: SelectedRecipe): Promise<FetchedSource> {
  return fetchSource({
    what: `${recipe.name} ${version.version}`,
    sources: withSitePins(version.sources, configuredPins()),
    debianMirror: optionalDebianMirror(),
    log: (t) => process.stdout.write(`pharos: ${t}`),
  });
}

export interface LoggedBuild {
  /** Names the log: tmp/logs/<project>-<what>.log. */
  what: string;
  /** Shown before the build starts, followed by the log's path. */
  announce: string;
  image: string;
  script: string;
  binds: string[];
  labels: Record<string, string>;
  label: string;
}

/**
 * Runs a long build script in a container with its whole output in a log file and only its phases on the terminal.
 * A non-zero exit is an error naming the phase, the log and its last lines.
 */
export async function runLoggedBuild(docker: Docker, context: ExecutorContext, build: LoggedBuild): Promise<{ output: string; shownLog: string }> {
  const logFile = await buildLogFile(context, build.what);
  const shownLog = relative(context.root, logFile);
  process.stdout.write(`pharos: ${build.announce}; full log: ${shownLog}\n`);
  const log = buildLog(logFile);
  let code: number;
  try {
    code = await runContainer(docker, {
      image: build.image,
      cmd: ['sh', '-c', build.script],
      binds: build.binds,
      labels: build.labels,
    }, { stdout: log.stream, stderr: log.stream });
  } finally {
    await log.close();
  }
  if (code !== 0) throw buildFailure(log.text(), code, shownLog, build.label);
  return { output: log.text(), shownLog };
}
