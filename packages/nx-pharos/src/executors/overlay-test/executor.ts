import type { ExecutorContext } from '@nx/devkit';
import { checkTimeLimit } from '../../lib/image/check-limits';
import { judge, Report, stripApptainerInfo, tailOf } from '../../lib/image/check-report';
import { holdOverlays, overlayProduct, usingOverlaysArgv, verifiedBaseSif, type BaseSif, type MountedOverlay } from '../../lib/overlay/mounts';
import { normalizeOverlayOptions, shownPath, type NormalizedOverlayOptions, type OverlayOptions } from '../../lib/overlay/normalize-options';
import { EMBEDDED_SCRIPT } from '../../products/overlay';
import { apptainerForTask } from '../../tools/apptainer';
import { assertDaemon, dockerClient } from '../../tools/docker';
import { PharosError } from '../../utils/errors';
import { runExecutor } from '../../utils/executor';

export type OverlayTestOptions = Omit<OverlayOptions, 'compression' | 'compressionLevel' | 'noWait' | 'wait'>;

/**
 * Uses an overlay as a person would: `apptainer exec` on the base SIF with the #DEP overlays and this one mounted,
 * their .env applied and their bin/ on PATH, no network. Checks the products against their manifests, that the
 * overlay carries the script it was built from, then each check of `<version>.test.yaml`. The overlays are held in use
 * (a shared flock each) until the checks end, so an update of one of them refuses meanwhile.
 */
export default async function overlayTestExecutor(options: OverlayTestOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const o = normalizeOverlayOptions(options, context);
    const declaredIn = o.checks?.shown ?? o.label;
    (o.checks?.list ?? []).forEach((c) => checkTimeLimit(c, 'apptainer', declaredIn)); // a bad limit is refused before anything runs
    const base = await verifiedBaseSif(o);
    const mounted = [...o.deps, { manifest: o.products.manifest, producer: `${o.project}:overlay` }].map((m) => overlayProduct(m.manifest, m.producer, o));
    const inUse = await holdOverlays(mounted, o);
    try {
      await runChecks(o, context, base, mounted);
    } finally {
      await inUse.release();
    }
  });
}

async function runChecks(o: NormalizedOverlayOptions, context: ExecutorContext, base: BaseSif, mounted: MountedOverlay[]): Promise<void> {
  const declaredIn = o.checks?.shown ?? o.label;
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
  const docker = dockerClient();
  await assertDaemon(docker);
  const apptainer = await apptainerForTask(docker, context, o.devContainer);

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

  for (const check of o.checks?.list ?? []) {
    const limit = checkTimeLimit(check, 'apptainer', declaredIn);
    const r = await apptainer.run({ argv: exec(check.command), fuse: true, network: 'none', what: limit.what, timeLimit: limit.ms, raiseLimit: limit.raise });
    judge(report, check, 'apptainer', { exitCode: r.exitCode, stdout: r.stdout, stderr: stripApptainerInfo(r.stderr) });
  }
  if (report.failures.length) {
    throw new PharosError(`${report.failures.length} check(s) failed:\n  ${report.failures.join('\n  ')}`, {
      step: o.label,
      file: o.checks?.shown,
      next: 'fix the build script or the expectation',
    });
  }
}
