import type { ExecutorContext } from '@nx/devkit';
import { Report, stripApptainerInfo, tailOf } from '../../lib/image/check-report';
import { assertChecksPassed, declaredChecks, runChecks } from '../../lib/overlay/checks';
import { holdOverlays, overlayProduct, usingOverlaysArgv, verifiedBaseSif, type BaseSif, type MountedOverlay } from '../../lib/overlay/mounts';
import { normalizeOverlayOptions, shownPath, type NormalizedOverlayOptions, type OverlayOptions } from '../../lib/overlay/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { EMBEDDED_SCRIPT } from '../../products/overlay';
import { apptainerForTask } from '../../tools/apptainer-runner';

export type OverlayTestOptions = Omit<OverlayOptions, 'compression' | 'compressionLevel' | 'noWait' | 'wait'>;

/**
 * Uses an overlay as a person would: `apptainer exec` on the base SIF with the #DEP overlays and this one mounted,
 * their .env applied and their bin/ on PATH, no network. Checks the products against their manifests, that the
 * overlay carries the script it was built from, then each check of `<version>.test.yaml`. The overlays are held in
 * use (a shared flock each) while mounted, so an update waits for the test rather than replacing what it reads.
 */
export default async function overlayTestExecutor(options: OverlayTestOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const o = normalizeOverlayOptions(options, context);
    const checks = declaredChecks(o.checks, o.label);
    const base = await verifiedBaseSif(o);
    const mounted = [...o.deps, { manifest: o.products.manifest, producer: `${o.project}:overlay` }].map((m) => overlayProduct(m.manifest, m.producer, o));
    const inUse = await holdOverlays(mounted, o);
    try {
      await checkOverlay(o, context, base, mounted, checks);
    } finally {
      await inUse.release();
    }
  });
}

async function checkOverlay(
  o: NormalizedOverlayOptions,
  context: ExecutorContext,
  base: BaseSif,
  mounted: MountedOverlay[],
  checks: ReturnType<typeof declaredChecks>,
): Promise<void> {
  const report = new Report();
  const self = mounted[mounted.length - 1];
  report.ok(`${shownPath(o, self.sqf)}, its #DEP overlays and ${shownPath(o, base.file)} match their manifests`);
  if (self.manifest.base.sha256 !== base.manifest.sha256) {
    report.fail(
      'base SIF',
      `${o.path.key} was built on ${self.manifest.base.sif} ${self.manifest.base.sha256}, the base is now ${base.manifest.sha256}; rebuild the overlay target`,
    );
  }
  const exec = (command: string) => usingOverlaysArgv(base.file, mounted, command);
  const apptainer = await apptainerForTask(context, o.devContainer);

  const embedded = `${o.appRoot}/${EMBEDDED_SCRIPT}`;
  const provenance = await apptainer.run({ argv: exec(`sha256sum ${embedded}`), fuse: true, network: 'none' });
  const digest = provenance.stdout.trim().split(/\s+/)[0];
  if (provenance.exitCode === 0 && digest === self.manifest.script.sha256) report.ok(`the overlay carries the script it was built from (${embedded})`);
  else
    report.fail(
      'provenance',
      provenance.exitCode !== 0
        ? tailOf(stripApptainerInfo(provenance.stderr)).join(' | ')
        : `${embedded} has sha256 ${digest}, the manifest says ${self.manifest.script.sha256}`,
    );

  await runChecks(apptainer, checks, exec, report);
  assertChecksPassed(report, { step: o.label, file: o.checks?.shown, next: 'fix the build script or the expectation' });
}
