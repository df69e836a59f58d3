import type { ExecutorContext } from '@nx/devkit';
import { Report } from '../../lib/image/check-report';
import { assertChecksPassed, declaredChecks, runChecks } from '../../lib/overlay/checks';
import { normalizeDefImageOptions, type DefImageOptions } from '../../lib/overlay/def-image';
import { verifiedSif } from '../../lib/overlay/mounts';
import { shownPath } from '../../lib/overlay/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { readSifManifest } from '../../products/sif';
import { overlayExecArgv } from '../../tools/apptainer';
import { apptainerForTask } from '../../tools/apptainer-runner';

export type DefTestOptions = Omit<DefImageOptions, 'compression' | 'compressionLevel' | 'noWait' | 'wait'>;

/**
 * Uses a `.def` image as a person would: each check of `<version>.test.yaml` with `sh -c` under `apptainer exec
 * --cleanenv --contain --no-home`, no network, so %environment applies and nothing of the host does. Before them:
 * the SIF against its manifest, and that it was built from this definition on the base SIF there is now.
 */
export default async function defTestExecutor(options: DefTestOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const o = normalizeDefImageOptions(options, context);
    const checks = declaredChecks(o.checks, o.label);
    const report = new Report();
    const self = await verifiedSif(o.products.manifest, `${o.project}:sif`, o);
    const shown = shownPath(o, self.file);
    report.ok(`${shown} matches its manifest`);
    const base = readSifManifest(o.base.manifest, o.workspaceRoot, o.base.producer);
    const built = self.manifest;
    if (built.base?.sha256 !== base.sha256) {
      report.fail(
        'base SIF',
        `${shown} was built on ${built.base?.sif} ${built.base?.sha256}, ${o.base.project}'s SIF is now ${base.sha256}; rebuild the sif target`,
      );
    }
    if (built.definition?.sha256 !== o.definitionSha256) {
      report.fail(
        'definition',
        `${shown} was built from ${built.definition?.file} ${built.definition?.sha256}, ${o.shownDefinition} is now ${o.definitionSha256}; rebuild the sif target`,
      );
    }
    const apptainer = await apptainerForTask(context, o.devContainer);
    await runChecks(apptainer, checks, (command) => overlayExecArgv({ sif: self.file, overlays: [], argv: ['/bin/sh', '-c', command] }), report);
    assertChecksPassed(report, { step: o.label, file: o.checks?.shown, next: 'fix the definition or the expectation' });
  });
}
