import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { relative } from 'node:path';
import { optionalDebianMirror } from '../../tools/debian-mirror';
import { assertDaemon, dockerClient, runContainer } from '../../tools/docker';
import { suiteImage, type SuiteImage } from '../../tools/suite-image';
import { fetchSource, type FetchedSource } from '../../tools/source-fetch';
import { buildFailure, buildLog, buildLogFile } from '../../utils/build-log';
import type { TarballComponent } from '../../definitions/source-recipe';
import type { SourceBuild } from './normalize-options';
import { containerScript } from './scripts';

/** The Docker engine, checked, and the clean image of the suite that every container of the task starts from. */
export async function suiteEngine(context: ExecutorContext, suite: string): Promise<{ docker: Docker; base: SuiteImage }> {
  const docker = dockerClient();
  await assertDaemon(docker);
  return { docker, base: await suiteImage(docker, context, suite) };
}

/** The version's source, verified, from the cache or the first source that serves the pinned digest. */
export function fetchRecipeSource({
  recipe,
  recipeFile,
  version,
  sources,
  mirrors,
}: Pick<SourceBuild, 'recipe' | 'recipeFile' | 'version' | 'sources' | 'mirrors'>): Promise<FetchedSource> {
  return fetchSource({
    what: `${recipe.name} ${version.version}`,
    sources,
    mirrors,
    recipeFile,
    debianMirror: optionalDebianMirror(),
    log: (t) => process.stdout.write(`pharos: ${t}`),
  });
}

/** A tarball component's source, verified, through the same cache, mirrors and pins as the main source. */
export function fetchComponentSource(
  { recipe, recipeFile, mirrors }: Pick<SourceBuild, 'recipe' | 'recipeFile' | 'mirrors'>,
  component: TarballComponent,
): Promise<FetchedSource> {
  return fetchSource({
    what: `${recipe.name} tarball component ${component.name} ${component.version}`,
    sources: component.sources,
    mirrors,
    recipeFile,
    debianMirror: optionalDebianMirror(),
    log: (t) => process.stdout.write(`pharos: ${t}`),
  });
}

/** The version's packaging tarball (its `debian/`), verified like the source; undefined when the source carries its own. */
export async function fetchRecipePackaging({
  recipe,
  recipeFile,
  version,
  packaging,
  mirrors,
}: Pick<SourceBuild, 'recipe' | 'recipeFile' | 'version' | 'packaging' | 'mirrors'>): Promise<FetchedSource | undefined> {
  if (!packaging.length) return undefined;
  return fetchSource({
    what: `${recipe.name} ${version.version} packaging`,
    sources: packaging,
    mirrors,
    recipeFile,
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
  /** A .sh file, run with `args` and `env`; `calls` are the scripts it runs in turn. */
  script: string;
  args?: string[];
  env?: Record<string, string>;
  calls?: string[];
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
  const run = containerScript(build.script, build.args, build.calls);
  let code: number;
  try {
    code = await runContainer(
      docker,
      {
        image: build.image,
        cmd: run.cmd,
        env: build.env,
        binds: [...build.binds, ...run.binds],
        labels: build.labels,
        aptCache: true,
      },
      { stdout: log.stream, stderr: log.stream },
    );
  } finally {
    await log.close();
  }
  if (code !== 0) throw buildFailure(log.text(), code, shownLog, build.label);
  return { output: log.text(), shownLog };
}
