import type { ExecutorContext } from '@nx/devkit';
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { verifiedBaseSif, verifiedDeps } from '../../lib/overlay/mounts';
import { normalizeOverlayOptions, shownPath, type OverlayOptions } from '../../lib/overlay/normalize-options';
import { envFileText, overlayFileNames, writeOverlayManifest, type OverlayManifest } from '../../products/overlay';
import { apptainerForTask } from '../../tools/apptainer';
import { resolveDebianMirror } from '../../tools/debian-mirror';
import { assertDaemon, dockerClient } from '../../tools/docker';
import { overlayCompression, packArgv } from '../../tools/mksquashfs';
import { fetchSource, type FetchedSource } from '../../tools/source-fetch';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { buildLogFile } from '../../utils/build-log';
import { sha256File } from '../../utils/digest';
import { PharosError } from '../../utils/errors';
import { runExecutor } from '../../utils/executor';
import { runInstall, stageBuild } from './build-overlay';

export type { OverlayOptions };

/**
 * Builds an overlay from its script: install() in the base SIF with the #DEP overlays mounted read-only and the
 * prefix bound at /cnt/<name>/<version>, offline, from the #SRC files; then the prefix packed with mksquashfs.
 * Product: <version>.sqf, <version>.env and <version>.sqf.json (last), each renamed into place.
 */
export default async function overlayExecutor(options: OverlayOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const o = normalizeOverlayOptions(options, context);
    await run.lockProduct(context, o.products.sqf, options);
    await removeProducts([o.products.manifest, o.products.env, o.products.sqf]);
    if (o.script.interactive.length) {
      throw new PharosError(`the script asks ${o.script.interactive.length} question(s) (#INTERACTIVE:), and answering them is not supported yet`, {
        file: o.shownScript,
        line: o.script.interactive[0].line,
        next: 'remove the #INTERACTIVE: lines and the prompts in install()',
      });
    }
    const compression = overlayCompression(o.compression, o.compressionLevel);
    const base = await verifiedBaseSif(o);
    const deps = await verifiedDeps(o);

    const sources: FetchedSource[] = [];
    const debianMirror = o.script.sources.some((s) => s.location.kind === 'debian-orig') ? resolveDebianMirror() : undefined;
    for (const s of o.script.sources) {
      const { location, sha256, file } = s;
      const log = (t: string) => process.stdout.write(`pharos: ${t}`);
      sources.push(await fetchSource({ what: `${o.path.key} (${file})`, sources: [{ file, sha256, location }], debianMirror, recipeFile: o.shownScript, log }));
    }

    const stage = await stageBuild(o, sources);
    try {
      const docker = dockerClient();
      await assertDaemon(docker);
      const apptainer = await apptainerForTask(docker, context, o.devContainer);
      const apptainerVersion = await apptainer.version();
      const logFile = await buildLogFile(context, 'overlay');
      process.stdout.write(`pharos: building ${o.path.key} on ${shownPath(o, base.file)}; full log: ${shownPath(o, logFile)}\n`);
      await runInstall(apptainer, o, base, deps, stage, logFile);

      const args = (dest: string) => packArgv({ tree: stage.tree, dest, type: o.script.type, processors: o.ncpus, compression });
      await writeAtomically(o.products.sqf, async (tmp) => {
        const packed = await apptainer.run({ argv: args(tmp), network: 'none', what: `mksquashfs of ${o.path.key}` });
        if (packed.exitCode !== 0) {
          throw new PharosError(`mksquashfs exited with code ${packed.exitCode}`, {
            step: `${o.label}: mksquashfs`,
            tail: (packed.stderr || packed.stdout).trim().split('\n').slice(-15),
            next: 'check the disk has room for the overlay beside dist/, then run again',
          });
        }
      });
      await writeAtomically(o.products.env, (tmp) => writeFile(tmp, envFileText(o.script.env, o.appRoot)));

      const names = overlayFileNames(o.path.version);
      const manifest: OverlayManifest = {
        schema: 1,
        project: o.project,
        overlay: o.path.key,
        type: o.script.type,
        sqf: names.sqf,
        env: names.env,
        sha256: await sha256File(o.products.sqf),
        bytes: statSync(o.products.sqf).size,
        script: { file: o.shownScript, sha256: await sha256File(stage.script) },
        sources: sources.map((s) => ({ file: s.file, sha256: s.sha256 })),
        base: { project: o.base.project, sif: base.manifest.sif, sha256: base.manifest.sha256 },
        deps: deps.map((d) => ({ overlay: d.overlay, project: d.project, sha256: d.manifest.sha256 })),
        mksquashfsArgs: args(names.sqf).slice(3),
        apptainerVersion,
      };
      await writeOverlayManifest(o.products.manifest, manifest);
      process.stdout.write(`pharos: ${shownPath(o, o.products.sqf)} (${(manifest.bytes / 1e6).toFixed(1)} MB, sha256 ${manifest.sha256.slice(0, 12)}…)\n`);
    } finally {
      await stage.remove();
    }
  });
}
