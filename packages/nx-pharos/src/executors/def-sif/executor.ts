import type { ExecutorContext } from '@nx/devkit';
import { assertFromIsBase, normalizeDefImageOptions, type DefImageOptions } from '../../lib/overlay/def-image';
import { verifiedSif } from '../../lib/overlay/mounts';
import { shownPath } from '../../lib/overlay/normalize-options';
import { slurmJobIfChosen, type JobResourceOptions } from '../../lib/slurm-engine/target-engine';
import { runExecutor } from '../../lib/team-store/install';
import { sifFileNames, writeSifManifest, type SifManifest } from '../../products/sif';
import { hashAndStore } from '../../products/store-files';
import { mksquashfsArgs } from '../../tools/apptainer';
import { apptainerForTask } from '../../tools/apptainer-runner';
import { removeProducts } from '../../utils/atomic-file';
import { buildLogFile } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';
import { buildDefinition } from './build-definition';

export type { DefImageOptions };

/**
 * Builds a `.def` image: `apptainer build` of containers/overlays/<name>/<version>.def, unprivileged, in the dev
 * container and without network, on the container SIF its `From:` names. Product: <version>.sif and
 * <version>.sif.json (last) in dist/containers/overlays/<name>/, each renamed into place.
 */
export default async function defSifExecutor(options: DefImageOptions & JobResourceOptions, context: ExecutorContext) {
  const job = slurmJobIfChosen('def-sif', options, context);
  if (job) return job;
  return runExecutor(async (run) => {
    const o = normalizeDefImageOptions(options, context);
    await run.lockProduct(context, o.products.sif, options);
    await removeProducts([o.products.manifest, o.products.sif]);
    let squashfs: string;
    try {
      squashfs = mksquashfsArgs(o.compression, o.compressionLevel);
    } catch (err) {
      throw new PharosError((err as Error).message, { step: o.label, next: 'fix the compression / compressionLevel options of the sif target' });
    }
    const base = await verifiedSif(o.base.manifest, o.base.producer, o);
    assertFromIsBase(o, base.file);
    const apptainer = await apptainerForTask(context, o.devContainer);
    const apptainerVersion = await apptainer.version();
    const logFile = await buildLogFile(context, 'sif');
    process.stdout.write(`pharos: apptainer build ${o.shownDefinition} on ${shownPath(o, base.file)}; full log: ${shownPath(o, logFile)}\n`);
    await buildDefinition(apptainer, o, squashfs, logFile);

    const manifest: SifManifest = {
      schema: 1,
      project: o.project,
      sif: sifFileNames(o.path.version).sif,
      ...(await hashAndStore(o.products.sif, o)),
      definition: { file: o.shownDefinition, sha256: o.definitionSha256 },
      base: { project: o.base.project, sif: base.manifest.sif, sha256: base.manifest.sha256 },
      mksquashfsArgs: squashfs,
      apptainerVersion,
    };
    await writeSifManifest(o.products.manifest, manifest);
    process.stdout.write(`pharos: ${shownPath(o, o.products.sif)} (${(manifest.bytes / 1e6).toFixed(1)} MB, sha256 ${manifest.sha256.slice(0, 12)}…)\n`);
  });
}
