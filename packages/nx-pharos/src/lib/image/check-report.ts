import type { ContainerCheck, Runtime } from '../../definitions/container';
import { judgeCheck } from '../../definitions/image-check';
import { checkName } from './check-limits';

const TAIL_LINES = 10;
export const tailOf = (text: string) => text.trim().split('\n').filter(Boolean).slice(-TAIL_LINES);

/** Collects verdicts so every check runs and the error lists all failures, each with what a user needs to act. */
export class Report {
  readonly failures: string[] = [];
  ok(what: string): void {
    process.stdout.write(`ok   ${what}\n`);
  }
  fail(what: string, detail: string): void {
    this.failures.push(`${what}: ${detail}`);
    process.stdout.write(`FAIL ${what}\n`);
  }
}

export function judge(report: Report, check: ContainerCheck, runtime: Runtime, outcome: { exitCode: number; stdout: string; stderr: string }): void {
  const name = `${checkName(check)} [${runtime}]`;
  const verdict = judgeCheck(check, outcome);
  if (!verdict) return report.ok(name);
  const stderr = tailOf(outcome.stderr);
  report.fail(`check "${checkName(check)}" in ${runtime}`, `\`${check.command}\`: ${verdict}${stderr.length ? `; stderr: ${stderr.join(' | ')}` : ''}`);
}

/** Apptainer's INFO lines about optional helpers it did not find are noise in a failure message. */
export function stripApptainerInfo(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith('INFO:'))
    .join('\n');
}
