import type { ExecutorContext } from '@nx/devkit';
import { execa } from 'execa';
import Handlebars from 'handlebars';
import { readFileSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseSourceRecipe, recipeVersion } from '../../plugin/source-recipe';
import { optionalDebianMirror } from '../../tools/debian-mirror';
import { assertDaemon, dockerClient, runContainer, sha256File } from '../../tools/docker';
import { parseLdconfig } from '../../tools/relocatable';
import { fetchSource } from '../../tools/source-fetch';
import { suiteImage } from '../../tools/suite-image';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { buildFailure, buildLog, buildLogFile } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { INSTALL_PREFIX, parseBundled, tarballBuildScript, type BundledLibrary } from './build-script';

export interface SlurmTarballOptions {
  recipe: string;
  release?: string | number;
  /** The Debian suite the tree is built on and for. */
  toolchain?: string;
  jobs?: number;
  /** Folder with module.lua.hbs and assets/; default {projectRoot}/tarball. */
  templates?: string;
  outputPath?: string;
}

export const TARBALL_MANIFEST = 'tarball.json';

export interface TarballManifest {
  schema: 1;
  project: string;
  version: string;
  toolchain: string;
  arch: string;
  file: string;
  sha256: string;
  bytes: number;
  source: { file: string; sha256: string };
  configureFlags: string[];
  bundled: BundledLibrary[];
  builtOn: string;
}

export function tarballName(version: string, toolchain: string, arch: string): string {
  return `slurm-${version}-${toolchain}-${arch}-software.tar.gz`;
}

export default async function slurmTarballExecutor(options: SlurmTarballOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const recipeFile = workspacePath(options.recipe, context);
    const shownRecipe = relative(context.root, recipeFile);
    const recipe = parseSourceRecipe(await readFile(recipeFile, 'utf8'), shownRecipe);
    const version = recipeVersion(recipe, options.release, shownRecipe);
    const toolchain = options.toolchain ?? 'trixie';
    const templates = workspacePath(options.templates ?? '{projectRoot}/tarball', context);
    const outputDir = workspacePath(options.outputPath ?? `dist/{projectRoot}/${version.version}/tarball-${toolchain}`, context);
    await removeProducts([outputDir]);

    const source = await fetchSource({
      what: `${recipe.name} ${version.version}`,
      sources: version.sources,
      debianMirror: optionalDebianMirror(),
      log: (t) => process.stdout.write(`pharos: ${t}`),
    });
    const docker = dockerClient();
    await assertDaemon(docker);
    const base = await suiteImage(docker, context, toolchain);
    const logFile = await buildLogFile(context, `tarball-${version.version}-${toolchain}`);
    const shownLog = relative(context.root, logFile);
    process.stdout.write(`pharos: relocatable build of ${recipe.name} ${version.version} on debian:${toolchain}; full log: ${shownLog}\n`);

    await writeAtomically(outputDir, async (tmp) => {
      const stage = join(tmp, 'stage');
      await mkdir(stage, { recursive: true });
      // What a clean system of the target already has: everything else the tree needs is bundled.
      const ldconfig = new PassThrough();
      let present = '';
      ldconfig.on('data', (d: Buffer) => (present += d.toString()));
      await runContainer(docker, { image: base.id, cmd: ['ldconfig', '-p'], network: 'none', labels: { 'org.pharos.tarball': label } }, { stdout: ldconfig, stderr: process.stderr });
      await writeFile(join(stage, 'present-sonames'), `${parseLdconfig(present).join('\n')}\n`);

      const log = buildLog(logFile);
      let code: number;
      try {
        code = await runContainer(docker, {
          image: base.id,
          cmd: ['sh', '-c', tarballBuildScript({
            tarball: `/src/${source.file}`,
            stage: '/stage',
            configureFlags: version.configureFlags,
            jobs: options.jobs ?? availableParallelism(),
            presentSonames: '/stage/present-sonames',
            uid: process.getuid?.() ?? 0,
            gid: process.getgid?.() ?? 0,
          })],
          binds: [`${source.path}:/src/${source.file}:ro`, `${stage}:/stage`],
          labels: { 'org.pharos.tarball': label },
        }, { stdout: log.stream, stderr: log.stream });
      } finally {
        await log.close();
      }
      if (code !== 0) throw buildFailure(log.text(), code, shownLog, label);
      const bundled = parseBundled(log.text());
      const arch = readFileSync(join(stage, 'arch'), 'utf8').trim();

      // The tarball's layout: view/ (the relocatable prefix), modules/slurm/<version>.lua, data/slurm_assets/.
      const tree = join(stage, 'tree');
      await mkdir(join(tree, 'modules', 'slurm'), { recursive: true });
      await rename(join(stage, 'root', INSTALL_PREFIX), join(tree, 'view'));
      const module = Handlebars.compile(await readFile(join(templates, 'module.lua.hbs'), 'utf8'), { noEscape: true, strict: true });
      await writeFile(join(tree, 'modules', 'slurm', `${version.version}.lua`), module({ version: version.version, toolchain, arch }));
      await cp(join(templates, 'assets'), join(tree, 'data', 'slurm_assets'), { recursive: true });

      const file = tarballName(version.version, toolchain, arch);
      process.stdout.write(`pharos: packing ${file} (${bundled.length} bundled librar${bundled.length === 1 ? 'y' : 'ies'})\n`);
      await execa('tar', ['-C', tree, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', join(tmp, file), 'view', 'modules', 'data']);
      await rm(stage, { recursive: true, force: true });
      const manifest: TarballManifest = {
        schema: 1,
        project: context.projectName as string,
        version: version.version,
        toolchain,
        arch,
        file,
        sha256: await sha256File(join(tmp, file)),
        bytes: statSync(join(tmp, file)).size,
        source: { file: source.file, sha256: source.sha256 },
        configureFlags: version.configureFlags,
        bundled,
        builtOn: base.id,
      };
      await writeFile(join(tmp, TARBALL_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    }).catch((err) => {
      throw err instanceof PharosError ? err : new PharosError((err as Error).message, { step: label, file: shownLog });
    });
    process.stdout.write(`pharos: ${relative(context.root, outputDir)}: the tarball and ${TARBALL_MANIFEST}\n`);
  });
}
