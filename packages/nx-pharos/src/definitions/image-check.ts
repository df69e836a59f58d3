/**
 * A declared check of an image: a shell command and what it must print or return. Pure, so the verdict logic is
 * unit-tested without a container runtime; the executors own running the command in Docker or Apptainer.
 */
export interface ImageCheck {
  name?: string;
  command: string;
  /** Exact standard output, surrounding whitespace trimmed. */
  expectOutput?: string;
  /** Each string must appear somewhere in standard output (order-free, so parallel ranks can report in any order). */
  expectOutputContains?: string | string[];
  expectExitCode?: number;
}

export interface CheckOutcome {
  exitCode: number;
  stdout: string;
}

/** Undefined when the check passed, else what differed. */
export function judgeCheck(check: ImageCheck, outcome: CheckOutcome): string | undefined {
  const wantCode = check.expectExitCode ?? 0;
  const got = outcome.stdout.trim();
  if (outcome.exitCode !== wantCode) return `expected exit code ${wantCode}, got ${outcome.exitCode}`;
  if (check.expectOutput !== undefined && got !== check.expectOutput.trim()) {
    return `expected output ${JSON.stringify(check.expectOutput.trim())}, got ${JSON.stringify(got)}`;
  }
  const contains = check.expectOutputContains === undefined ? [] : [check.expectOutputContains].flat();
  const missing = contains.filter((s) => !got.includes(s));
  if (missing.length) {
    return `expected output containing ${missing.map((s) => JSON.stringify(s)).join(' and ')}, got ${JSON.stringify(got)}`;
  }
  return undefined;
}
