import type { ExecutorContext } from '@nx/devkit';
import { statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { SquashfsCompression } from '../../definitions/container';
import { Apptainer, buildFromArchiveArgv, mksquashfsArgs, signArgv } from '../../tools/apptainer';
import { devContainerForTask } from '../../tools/dev-container';
import { assertDaemon, dockerClient } from '../../tools/docker';
import { sha256File } from '../../utils/digest';
import { assertArchiveMatches, readImageManifest } from '../../products/image';
import { sifProductPaths, writeSifManifest, type SifManifest } from '../../products/sif';
import { removeProducts, temporarySibling, writeAtomically } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { signingMaterial } from '../../utils/signing-material';
import { SIF_SIGNING } from './signing-key';

export interface SifExecutorOptions {
  manifest?: string;
  outputPath?: string;
  name?: string;
  compression?: SquashfsCompression;
  compressionLevel?: number;
  sign?: boolean;
  signingKeyFile?: string;
  /** Where `sign` was switched on, for the message when no key is given. */
  signRequiredBy?: string;
  devContainer?: string;
}

const TAIL_LINES = 15;
const tailOf = (text: string) => text.trim().split('\n').slice(-TAIL_LINES);

export default async function sifExecutor(options: SifExecutorOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const name = options.name ?? (context.projectName as string);
    const outputDir = workspacePath(options.outputPath ?? 'dist/{projectRoot}', context);
    const products = sifProductPaths(outputDir, name);
    await removeProducts([products.manifest, products.sif, products.publicKey]);

    let squashfs: string;
    try {
      squashfs = mksquashfsArgs(options.compression, options.compressionLevel);
    } catch (err) {
      throw new PharosError((err as Error).message, { step: label, next: 'fix sif.compression / sif.compressionLevel in container.yaml or the target options' });
    }

    const imageManifestFile = workspacePath(options.manifest ?? 'dist/{projectRoot}/image.json', context);
    const image = readImageManifest(imageManifestFile, context.root, `${context.projectName}:image`);
    const archive = join(dirname(imageManifestFile), image.archive);
    await assertArchiveMatches(archive, image, relative(context.root, archive));

    // Before the slow part: a signed build without a key must fail at once.
    const signing = options.sign
      ? await signingMaterial(SIF_SIGNING, options.signingKeyFile, process.env, context.root, options.signRequiredBy ?? `${label} option "sign"`)
      : undefined;
    try {
      const docker = dockerClient();
      await assertDaemon(docker);
      const apptainer = new Apptainer(docker, await devContainerForTask(docker, context, options.devContainer), context.root, label);
      const version = await apptainer.version();

      const publicKeyTmp = temporarySibling(products.publicKey);
      const removePublicKeyTmp = onInterrupt(() => removeProducts([publicKeyTmp]));
      try {
        await writeAtomically(products.sif, async (tmp) => {
          process.stdout.write(`pharos: apptainer build ${relative(context.root, products.sif)} from ${relative(context.root, archive)} (mksquashfs ${squashfs})\n`);
          const built = await apptainer.run({ argv: buildFromArchiveArgv(tmp, archive, squashfs), echo: process.stdout });
          if (built.exitCode !== 0) {
            throw new PharosError(`apptainer build exited with code ${built.exitCode}`, {
              file: relative(context.root, archive),
              step: `${label}: apptainer build`,
              tail: tailOf(built.stderr || built.stdout),
              next: 'read the Apptainer error above; if the archive is suspect, rebuild the image with --skip-nx-cache',
            });
          }
          if (signing) {
            const signed = await apptainer.run({
              argv: signArgv(tmp, signing.keyFile, signing.passphraseFile, publicKeyTmp),
              readOnlyFiles: [signing.keyFile, ...(signing.passphraseFile ? [signing.passphraseFile] : [])],
            });
            if (signed.exitCode !== 0) {
              throw new PharosError(`signing failed with code ${signed.exitCode}`, {
                step: `${label}: apptainer sign`,
                tail: tailOf(signed.stderr || signed.stdout),
                next: 'check the key is a PEM private key (RSA, ECDSA or Ed25519) and the passphrase matches',
              });
            }
            process.stdout.write(`pharos: signed; public key in ${relative(context.root, products.publicKey)}\n`);
          }
        });
        if (signing) await rename(publicKeyTmp, products.publicKey);
      } finally {
        await removePublicKeyTmp();
      }

      const manifest: SifManifest = {
        schema: 1,
        project: context.projectName as string,
        sif: `${name}.sif`,
        sha256: await sha256File(products.sif),
        bytes: statSync(products.sif).size,
        image: { id: image.id, archiveSha256: image.archiveSha256 },
        mksquashfsArgs: squashfs,
        apptainerVersion: version,
        ...(signing ? { publicKey: `${name}.sif.pub.pem` } : {}),
      };
      await writeSifManifest(products.manifest, manifest);
      process.stdout.write(`pharos: ${relative(context.root, products.sif)} (${(manifest.bytes / 1e6).toFixed(0)} MB, apptainer ${version})\n`);
    } finally {
      await signing?.dispose();
    }
  });
}
