import { judgeCheck, type ImageCheck } from '../../definitions/image-check';

/** The checks' commands as deb-checks.sh reads them: PHAROS_CHECK_0, PHAROS_CHECK_1, … in order. */
export function checkEnv(checks: readonly ImageCheck[]): Record<string, string> {
  return Object.fromEntries(checks.map((c, i) => [`PHAROS_CHECK_${i}`, c.command]));
}

const RESULT = /^pharos-check-result (\d+) (\d+) ?(\S*)$/;

/** Each check's verdict from deb-checks.sh's output: undefined when it passed, else what differed (or that it never ran). */
export function judgeCheckOutput(checks: readonly ImageCheck[], output: string): Array<{ name: string; failure?: string }> {
  const outcomes = new Map<number, { exitCode: number; stdout: string }>();
  for (const line of output.split('\n')) {
    const m = RESULT.exec(line.trim());
    if (m) outcomes.set(Number(m[1]), { exitCode: Number(m[2]), stdout: Buffer.from(m[3], 'base64').toString('utf8') });
  }
  return checks.map((check, i) => {
    const name = check.name ?? check.command;
    const outcome = outcomes.get(i);
    return { name, failure: outcome ? judgeCheck(check, outcome) : 'it never ran (the container stopped before it)' };
  });
}
