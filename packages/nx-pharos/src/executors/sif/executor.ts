import type { ExecutorContext } from '@nx/devkit';
import { dirname, join } from 'node:path';
import { normalizeSifOptions, shownPath, type SifExecutorOptions } from '../../lib/image/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { assertArchiveMatches, readImageManifest } from '../../products/image';
import { sifFileNames, writeSifManifest, type SifManifest } from '../../products/sif';
import { hashAndStore } from '../../products/store-files';
import { apptainerForTask } from '../../tools/apptainer-runner';
import { removeProducts } from '../../utils/atomic-file';
import { signingMaterial } from '../../utils/signing-material';
import { buildSif, squashfsArgsOf } from './build-sif';
import { SIF_SIGNING } from './signing-key';

export type { SifExecutorOptions };

export default async function sifExecutor(options: SifExecutorOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const o = normalizeSifOptions(options, context);
    await run.lockProduct(context, o.products.sif, options);
    await removeProducts([o.products.manifest, o.products.sif, o.products.publicKey]);
    const squashfs = squashfsArgsOf(o);

    const image = readImageManifest(o.imageManifest, o.workspaceRoot, `${o.project}:image`);
    const archive = join(dirname(o.imageManifest), image.archive);
    await assertArchiveMatches(archive, image, shownPath(o, archive));

    // Before the slow part: a signed build without a key must fail at once.
    const signing = o.signing ? await signingMaterial(SIF_SIGNING, o.signing.keyFile, process.env, o.workspaceRoot, o.signing.requiredBy) : undefined;
    try {
      const apptainer = await apptainerForTask(context, o.devContainer);
      const version = await apptainer.version();
      await buildSif(apptainer, o, archive, squashfs, signing);

      const files = sifFileNames(o.name);
      const manifest: SifManifest = {
        schema: 1,
        project: o.project,
        sif: files.sif,
        ...(await hashAndStore(o.products.sif, o)),
        image: { id: image.id, archiveSha256: image.archiveSha256 },
        mksquashfsArgs: squashfs,
        apptainerVersion: version,
        ...(signing ? { publicKey: files.publicKey } : {}),
      };
      await writeSifManifest(o.products.manifest, manifest);
      process.stdout.write(`pharos: ${shownPath(o, o.products.sif)} (${(manifest.bytes / 1e6).toFixed(0)} MB, apptainer ${version})\n`);
    } finally {
      await signing?.dispose();
    }
  });
}
