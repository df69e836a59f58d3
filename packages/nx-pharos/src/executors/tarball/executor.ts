import { buildEnv, TARBALL_MANIFEST, tarballName, type TarballManifest } from '../../products/tarball';
import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { execa } from 'execa';
import Handlebars from 'handlebars';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { recipeVariants } from '../../definitions/source-recipe';
import { assertDaemon, dockerClient, runContainerCaptured } from '../../tools/docker';
import { sha256File } from '../../utils/digest';
import { gpgSignScript, parseFingerprint, parseGpgFailure, rejectOpenPgpKey } from '../../tools/gpg';
import { parseLdconfig } from '../../tools/relocatable';
import { suiteImage } from '../../tools/suite-image';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { signingMaterial, type SigningKind, type SigningMaterial } from '../../utils/signing-material';
import { fetchRecipeSource, runLoggedBuild, selectRecipe, type SourceBuildOptions } from '../../lib/source-build/source-build';
import { installPrefix, parseBundled, tarballBuildScript, type BundledLibrary } from './build-script';

export interface TarballOptions extends SourceBuildOptions {
  /** The Debian suite the tree is built on and for. */
  toolchain?: string;
  /** The recipe's `gpu` variant (slurm: NVML, with gres.conf AutoDetect=nvml). */
  gpu?: boolean;
  /** The recipe's `minimal` variant (slurm: no sview, HDF5, Lua, PMIx, …). */
  minimal?: boolean;
  /** Write a detached, armored GPG signature `<tarball>.asc` and the signer's public key. */
  sign?: boolean;
  /** Path of the OpenPGP secret key; default from PHAROS_GPG_KEY_FILE. */
  signingKeyFile?: string;
  jobs?: number;
  /** Folder with module.lua.hbs, assets/ and variants/<variant>/; default {projectRoot}/tarball. */
  templates?: string;
  outputPath?: string;
}

export const GPG_SIGNING: SigningKind = {
  step: 'sign tarball',
  env: {
    keyFile: 'PHAROS_GPG_KEY_FILE',
    key: 'PHAROS_GPG_KEY',
    passphraseFile: 'PHAROS_GPG_PASSPHRASE_FILE',
    passphrase: 'PHAROS_GPG_PASSPHRASE',
  },
  keyOption: '--signingKeyFile',
  keyDescription: 'an OpenPGP secret key',
  keyTempName: 'key.asc',
  rejectKey: rejectOpenPgpKey,
};

export default async function tarballExecutor(options: TarballOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const selected = await selectRecipe(options, context);
    const { recipe, version, recipeFile } = selected;
    const variants = recipeVariants(recipe, [...(options.gpu ? ['gpu'] : []), ...(options.minimal ? ['minimal'] : [])], recipeFile);
    const variantNames = variants.map((v) => v.name);
    const toolchain = options.toolchain ?? 'trixie';
    const templates = workspacePath(options.templates ?? '{projectRoot}/tarball', context);
    const outputDir = workspacePath(options.outputPath ?? `dist/{projectRoot}/${version.version}/tarball-${toolchain}`, context);
    await removeProducts([outputDir]);

    // Signing material and the dev container first: a missing key must not cost a whole build.
    let signing: SigningMaterial | undefined;
    if (options.sign) signing = await signingMaterial(GPG_SIGNING, options.signingKeyFile, process.env, context.root, `${label} option "sign"`);
    try {
      const source = await fetchRecipeSource(selected);
      const docker = dockerClient();
      await assertDaemon(docker);
      const base = await suiteImage(docker, context, toolchain);
      const configureFlags = [...version.configureFlags, ...variants.flatMap((v) => v.configureFlags)];

      await writeAtomically(outputDir, async (tmp) => {
        const stage = join(tmp, 'stage');
        await mkdir(stage, { recursive: true });
        // What a clean system of the target already has: everything else the tree needs is bundled.
        const ldconfig = await runContainerCaptured(docker, { image: base.id, cmd: ['ldconfig', '-p'], network: 'none', labels: { 'org.pharos.tarball': label } });
        if (ldconfig.exitCode !== 0) throw new PharosError(`ldconfig -p failed in debian:${toolchain}: ${ldconfig.stderr.trim()}`, { step: label });
        await writeFile(join(stage, 'present-sonames'), `${parseLdconfig(ldconfig.stdout).join('\n')}\n`);

        const { output } = await runLoggedBuild(docker, context, {
          what: `tarball-${[version.version, toolchain, ...variantNames].join('-')}`,
          announce: `relocatable build of ${recipe.name} ${version.version}${variantNames.length ? ` (${variantNames.join(', ')})` : ''} on debian:${toolchain}`,
          image: base.id,
          script: tarballBuildScript({
            name: recipe.name,
            tarball: `/src/${source.file}`,
            stage: '/stage',
            configureFlags,
            buildPackages: variants.flatMap((v) => v.buildPackages),
            aptComponents: [...new Set(variants.flatMap((v) => v.aptComponents))],
            jobs: options.jobs ?? availableParallelism(),
            presentSonames: '/stage/present-sonames',
            uid: process.getuid?.() ?? 0,
            gid: process.getgid?.() ?? 0,
          }),
          binds: [`${source.path}:/src/${source.file}:ro`, `${stage}:/stage`],
          labels: { 'org.pharos.tarball': label },
          label,
        });
        const bundled = parseBundled(output);
        const arch = readFileSync(join(stage, 'arch'), 'utf8').trim();
        const facts = { name: recipe.name, version: version.version, toolchain, variants: variantNames, arch };

        // The tarball's layout: view/ (the relocatable prefix), modules/<name>/<version>.lua, data/<name>_assets/.
        const tree = join(stage, 'tree');
        const assets = join(tree, 'data', `${recipe.name}_assets`);
        await mkdir(join(tree, 'modules', recipe.name), { recursive: true });
        await rename(join(stage, 'root', installPrefix(recipe.name)), join(tree, 'view'));
        const module = Handlebars.compile(await readFile(join(templates, 'module.lua.hbs'), 'utf8'), { noEscape: true, strict: true });
        await writeFile(join(tree, 'modules', recipe.name, `${version.version}.lua`), module({ ...facts, variants: variantNames.join(', ') }));
        if (existsSync(join(templates, 'assets'))) await cp(join(templates, 'assets'), assets, { recursive: true });
        for (const v of variantNames) {
          const overlay = join(templates, 'variants', v);
          if (existsSync(overlay)) await cp(overlay, assets, { recursive: true });
        }
        await mkdir(assets, { recursive: true });
        await writeFile(join(assets, 'build.env'), buildEnv(facts));

        const file = tarballName(recipe.name, version.version, toolchain, arch, variantNames);
        process.stdout.write(`pharos: packing ${file} (${bundled.length} bundled librar${bundled.length === 1 ? 'y' : 'ies'})\n`);
        await execa('tar', ['-C', tree, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', join(tmp, file), 'view', 'modules', 'data']);
        await rm(stage, { recursive: true, force: true });
        const signature = signing ? await signTarball(docker, base.id, signing, tmp, file, label) : undefined;
        const manifest: TarballManifest = {
          schema: 1,
          project: context.projectName as string,
          ...facts,
          file,
          sha256: await sha256File(join(tmp, file)),
          bytes: statSync(join(tmp, file)).size,
          source: { file: source.file, sha256: source.sha256 },
          configureFlags,
          bundled,
          builtOn: base.id,
          ...(signature ? { signature } : {}),
        };
        await writeFile(join(tmp, TARBALL_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
      });
    } finally {
      await signing?.dispose();
    }
    process.stdout.write(`pharos: ${relative(context.root, outputDir)}: the tarball${options.sign ? ', its .asc signature and public key' : ''} and ${TARBALL_MANIFEST}\n`);
  });
}

/**
 * `<file>.asc` (detached, armored) and `<file>.pub.asc` (the signer's public key), made in a clean container of the
 * suite. The key and passphrase are bind-mounted read-only files; nothing secret is in argv, the environment or logs.
 */
export async function signTarball(docker: Docker, image: string, signing: SigningMaterial, dir: string, file: string, label: string): Promise<TarballManifest['signature']> {
  const secrets = ['/run/pharos-signing/key', ...(signing.passphraseFile ? ['/run/pharos-signing/passphrase'] : [])];
  const result = await runContainerCaptured(docker, {
    image,
    cmd: ['sh', '-c', gpgSignScript({
      file: `/out/${file}`,
      keyFile: secrets[0],
      passphraseFile: secrets[1],
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
    })],
    binds: [`${dir}:/out`, `${signing.keyFile}:${secrets[0]}:ro`, ...(signing.passphraseFile ? [`${signing.passphraseFile}:${secrets[1]}:ro`] : [])],
    labels: { 'org.pharos.tarball': label },
  });
  const fingerprint = parseFingerprint(result.stdout);
  if (result.exitCode !== 0 || !fingerprint) {
    const failure = parseGpgFailure(result.stderr);
    throw new PharosError(`GPG signature: ${failure?.reason ?? `gpg exited with code ${result.exitCode}`}`, {
      step: `${label}: sign`,
      tail: failure?.detail ?? result.stderr.trim().split('\n').slice(-10),
      next: `check the key (${GPG_SIGNING.env.keyFile}) and its passphrase (${GPG_SIGNING.env.passphraseFile})`,
    });
  }
  process.stdout.write(`pharos: signed ${file} with key ${fingerprint}\n`);
  return { file: `${file}.asc`, publicKey: `${file}.pub.asc`, fingerprint };
}
