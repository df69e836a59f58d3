import { checkTimeLimit } from '../image/check-limits';
import { judge, stripApptainerInfo, type Report } from '../image/check-report';
import type { ApptainerRunner } from '../../tools/apptainer';
import { PharosError } from '../../utils/errors';
import type { OverlayChecks } from './normalize-options';

/**
 * The checks of a `<version>.test.yaml` (an overlay's or a .def image's), each run as the test target runs them:
 * Apptainer in the dev container, no network, every check judged so one failure does not hide the next.
 */

/** The checks and where they are written; a bad time limit is refused here, before anything runs. */
export function declaredChecks(checks: OverlayChecks | undefined, label: string) {
  const declaredIn = checks?.shown ?? label;
  const list = checks?.list ?? [];
  list.forEach((c) => checkTimeLimit(c, 'apptainer', declaredIn));
  return { list, declaredIn };
}

/** Runs each check's command through `argvOf` (its `apptainer exec` line) and judges the outcome into the report. */
export async function runChecks(apptainer: ApptainerRunner, checks: ReturnType<typeof declaredChecks>, argvOf: (command: string) => string[], report: Report) {
  for (const check of checks.list) {
    const limit = checkTimeLimit(check, 'apptainer', checks.declaredIn);
    const r = await apptainer.run({ argv: argvOf(check.command), fuse: true, network: 'none', what: limit.what, timeLimit: limit.ms, raiseLimit: limit.raise });
    judge(report, check, 'apptainer', { exitCode: r.exitCode, stdout: r.stdout, stderr: stripApptainerInfo(r.stderr) });
  }
}

/** Fails the task with every failure the report collected, if it collected any. */
export function assertChecksPassed(report: Report, at: { step: string; file?: string; next: string }): void {
  if (report.failures.length) throw new PharosError(`${report.failures.length} check(s) failed:\n  ${report.failures.join('\n  ')}`, at);
}
