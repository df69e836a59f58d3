import { rename } from 'node:fs/promises';
import { shownPath, type NormalizedSifOptions } from '../../lib/image/normalize-options';
import { buildFromArchiveArgv, mksquashfsArgs, signArgv, type ApptainerRunner } from '../../tools/apptainer';
import { removeProducts, temporarySibling, writeAtomically } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import type { SigningMaterial } from '../../utils/signing-material';

const TAIL_LINES = 15;
const tailOf = (text: string) => text.trim().split('\n').slice(-TAIL_LINES);

/**
 * mksquashfs's arguments for the chosen compression. Checked apart from normalising the options, so the executor has
 * removed the previous products before a bad choice fails the task.
 */
export function squashfsArgsOf(o: NormalizedSifOptions): string {
  try {
    return mksquashfsArgs(o.compression, o.compressionLevel);
  } catch (err) {
    throw new PharosError((err as Error).message, {
      step: o.label,
      next: 'fix sif.compression / sif.compressionLevel in container.yaml or the target options',
    });
  }
}

/**
 * `apptainer build` of the image archive into the SIF, signed when signing material is given. The SIF and its public
 * key reach their product paths only when both steps succeeded.
 */
export async function buildSif(
  apptainer: ApptainerRunner,
  o: NormalizedSifOptions,
  archive: string,
  squashfs: string,
  signing: SigningMaterial | undefined,
): Promise<void> {
  const publicKeyTmp = temporarySibling(o.products.publicKey);
  const removePublicKeyTmp = onInterrupt(() => removeProducts([publicKeyTmp]));
  try {
    await writeAtomically(o.products.sif, async (tmp) => {
      process.stdout.write(`pharos: apptainer build ${shownPath(o, o.products.sif)} from ${shownPath(o, archive)} (mksquashfs ${squashfs})\n`);
      const built = await apptainer.run({ argv: buildFromArchiveArgv(tmp, archive, squashfs), echo: process.stdout });
      if (built.exitCode !== 0) {
        throw new PharosError(`apptainer build exited with code ${built.exitCode}`, {
          file: shownPath(o, archive),
          step: `${o.label}: apptainer build`,
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
            step: `${o.label}: apptainer sign`,
            tail: tailOf(signed.stderr || signed.stdout),
            next: 'check the key is a PEM private key (RSA, ECDSA or Ed25519) and the passphrase matches',
          });
        }
        process.stdout.write(`pharos: signed; public key in ${shownPath(o, o.products.publicKey)}\n`);
      }
    });
    if (signing) await rename(publicKeyTmp, o.products.publicKey);
  } finally {
    await removePublicKeyTmp();
  }
}
