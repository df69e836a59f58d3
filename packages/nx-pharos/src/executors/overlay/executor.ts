import type { ExecutorContext } from '@nx/devkit';
import { writeFile } from 'node:fs/promises';
import { readOverlayAnswers } from '../../lib/overlay/answers';
import { publishOverlay, refuseWhileInUse } from '../../lib/overlay/in-use';
import { heldDeps, verifiedBaseSif } from '../../lib/overlay/mounts';
import { normalizeOverlayOptions, shownPath, type OverlayOptions } from '../../lib/overlay/normalize-options';
import { slurmJobIfChosen, type EngineOptions, type JobSpec } from '../../lib/slurm-engine/target-engine';
import { runExecutor } from '../../lib/team-store/install';
import { envFileText, writeOverlayManifest } from '../../products/overlay';
import { apptainerForTask } from '../../tools/apptainer-runner';
import { overlayCompression, packArgv } from '../../tools/mksquashfs';
import { nextProduct, type NextProduct } from '../../utils/atomic-file';
import { buildLogFile } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';
import { fetchScriptSources, overlayManifest, runInstall, stageBuild, type Stage } from './build-overlay';

export type { OverlayOptions };

/** An overlay's job asks for what its script's #SBATCH lines say (lib/slurm-engine/target-engine.ts fills the rest). */
function overlayJob(options: OverlayOptions, context: ExecutorContext): JobSpec {
  const { script, shownScript } = normalizeOverlayOptions(options, context);
  return { resources: script.scheduler.resources, other: script.scheduler.other.slurm, file: shownScript };
}

/**
 * Builds an overlay from its script: install() in the base SIF with the #DEP overlays mounted read-only and the
 * prefix bound at /cnt/<name>/<version>, offline (unless #NETWORK:yes), from the #SRC files, the answers to its
 * #INTERACTIVE: prompts on its stdin; then the prefix packed with mksquashfs.
 * Product: <version>.sqf, <version>.env and <version>.sqf.json, each first written as a `.new-…` sibling; the current
 * product is replaced only once all three are complete, and not while anything uses it (lib/overlay/in-use.ts).
 */
export default async function overlayExecutor(options: OverlayOptions & EngineOptions, context: ExecutorContext) {
  const job = slurmJobIfChosen('overlay', options, context, overlayJob);
  if (job) return job;
  return runExecutor(async (run) => {
    const o = normalizeOverlayOptions(options, context);
    await run.lockProduct(context, o.products.sqf, options);
    const answers = readOverlayAnswers(o);
    await refuseWhileInUse(o);
    const compression = overlayCompression(o.compression, o.compressionLevel);
    const base = await verifiedBaseSif(o);
    const deps = await heldDeps(o);
    let stage: Stage | undefined;
    let next: NextProduct | undefined;
    try {
      const sources = await fetchScriptSources(o);
      stage = await stageBuild(o, sources, answers);
      next = await nextProduct([o.products.sqf, o.products.env, o.products.manifest]);
      const apptainer = await apptainerForTask(context, o.devContainer);
      const apptainerVersion = await apptainer.version();
      const logFile = await buildLogFile(context, 'overlay');
      process.stdout.write(`pharos: building ${o.path.key} on ${shownPath(o, base.file)}; full log: ${shownPath(o, logFile)}\n`);
      await runInstall(apptainer, o, base, deps.overlays, stage, logFile);
      await deps.release(); // packing mounts nothing

      const tree = stage.tree;
      const args = (dest: string) => packArgv({ tree, dest, type: o.script.type, processors: o.ncpus, compression });
      const packStarted = Date.now();
      const packed = await apptainer.run({ argv: args(next.path(o.products.sqf)), network: 'none', what: `mksquashfs of ${o.path.key}` });
      if (packed.exitCode !== 0) {
        throw new PharosError(`mksquashfs exited with code ${packed.exitCode}`, {
          step: `${o.label}: mksquashfs`,
          tail: (packed.stderr || packed.stdout).trim().split('\n').slice(-15),
          next: 'check the disk has room for the overlay beside dist/, then run again',
        });
      }
      // bench/overlay.mjs reads this line: the pack alone, against a raw mksquashfs of the same tree.
      process.stdout.write(`pharos: packed ${o.path.key} in ${((Date.now() - packStarted) / 1000).toFixed(1)} s\n`);
      await writeFile(next.path(o.products.env), envFileText(o.script.env, o.appRoot));
      const manifest = await overlayManifest(o, { sqf: next.path(o.products.sqf), stage, sources, answers, base, deps: deps.overlays, apptainerVersion, args });
      await writeOverlayManifest(next.path(o.products.manifest), manifest);
      await publishOverlay(o, next);
      process.stdout.write(`pharos: ${shownPath(o, o.products.sqf)} (${(manifest.bytes / 1e6).toFixed(1)} MB, sha256 ${manifest.sha256.slice(0, 12)}…)\n`);
    } finally {
      await next?.discard();
      await stage?.remove();
      await deps.release();
    }
  });
}
