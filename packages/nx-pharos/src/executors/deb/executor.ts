import type { ExecutorContext } from '@nx/devkit';
import { createWriteStream, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { parseSourceRecipe, recipeVersion } from '../../plugin/source-recipe';
import { optionalDebianMirror } from '../../tools/debian-mirror';
import { assertDaemon, dockerClient, runContainer, sha256File } from '../../tools/docker';
import { dpkgBuildScript, lastPhase, parseBuiltDebs, PHASE_MARKER } from '../../tools/dpkg';
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

const TAIL_LINES = 25;

/** Full output goes to a log file; the terminal gets the phases, so Nx's stored output stays small. */
function logSink(file: string, onPhase: (line: string) => void): { stream: Writable; text: () => string; close: () => Promise<void> } {
  const out = createWriteStream(file);
  let all = '';
  let partial = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      const text = chunk.toString();
      all += text;
      if (all.length > 4_000_000) all = all.slice(-2_000_000);
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith(PHASE_MARKER)) onPhase(l);
      out.write(chunk, cb);
    },
  });
  return { stream, text: () => all, close: () => new Promise((r) => out.end(r)) };
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
    const logDir = join(context.root, 'tmp', 'logs');
    await mkdir(logDir, { recursive: true });
    const logFile = join(logDir, `${context.projectName}-deb-${version.version}-${options.suite}.log`);
    const shownLog = relative(context.root, logFile);
    process.stdout.write(`pharos: dpkg-buildpackage in debian:${options.suite}; full log: ${shownLog}\n`);

    await writeAtomically(outputDir, async (tmp) => {
      await mkdir(tmp, { recursive: true });
      const log = logSink(logFile, (l) => process.stdout.write(`pharos: ${l.slice(PHASE_MARKER.length).trim()}\n`));
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
      if (code !== 0) {
        const phase = lastPhase(log.text());
        throw new PharosError(`the build stopped in ${phase ?? 'its first step'} with code ${code}`, {
          file: shownLog,
          step: `${label}: ${phase ?? 'build'}`,
          tail: log.text().trim().split('\n').slice(-TAIL_LINES),
          next: `read ${shownLog}; ${phase === 'build-deps' || phase === 'toolchain' ? 'the suite\'s archive must serve the build dependencies' : 'fix the source or the recipe, then run the target again'}`,
        });
      }
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
