import { DURATION_EXAMPLES, formatDuration, parseDuration } from '../utils/duration';
import { PharosError } from '../utils/errors';

/**
 * How a Docker step ended and whose it is: the step itself (fix the Dockerfile or the command), the engine (it went
 * away: start it and run again), a signal we received (nothing to fix), or a time limit. Pure, so each verdict and
 * message is unit-tested; tools/docker.ts gathers the facts (a ping, the signal) and throws what this returns.
 */

export type Culprit = 'step' | 'engine' | 'signal';

export interface FailureFacts {
  /** The daemon's or the client's error text ('' when a container merely exited). */
  text: string;
  /** The step's or container's exit code, when there is one. */
  exitCode?: number;
  /** Whether the engine answers a ping now. */
  engineAnswers: boolean;
  /** The signal this process received, if any (Ctrl-C, a CI job's SIGTERM). */
  signal?: string;
}

/** The client's connection to the engine broke: whatever the step was doing, the engine is what went away. */
const CONNECTION_LOST = /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|connect ENOENT|unexpected EOF|connection reset by peer/i;

export function blame(f: FailureFacts): Culprit {
  if (f.signal) return 'signal';
  if (CONNECTION_LOST.test(f.text)) return 'engine';
  // A step that ended with its own code (1-127) failed by itself; one killed (128+, e.g. 137) or an error without a code
  // is the engine's doing when the engine is gone. While it answers, 137 is the step's (out of memory, a kill in it).
  if (!f.engineAnswers && (f.exitCode === undefined || f.exitCode >= 128)) return 'engine';
  return 'step';
}

/** The exit code in the classic builder's "returned a non-zero code: N" or BuildKit's "exit code: N". */
export function buildStepExitCode(text: string): number | undefined {
  const m = /returned a non-zero code: (\d+)|exit code: (\d+)/.exec(text);
  return m ? Number(m[1] ?? m[2]) : undefined;
}

export const START_ENGINE = 'start it (`npm run setup`) and run the target again';

/**
 * The error for a failure that is not the step's. `during` says where: "during step 2/3 (`RUN sleep 45`)",
 * "while check \"slow\" ran"; `detail` is the daemon's own text, shown under the message.
 */
export function notTheStepError(culprit: Exclude<Culprit, 'step'>, during: string, detail: string, signal?: string): PharosError {
  const tail = detail.trim() ? [detail.trim()] : undefined;
  if (culprit === 'engine') return new PharosError(`the Docker engine went away ${during}`, { tail, next: START_ENGINE });
  return new PharosError(`stopped by ${signal ?? 'a signal'} ${during}; its container was removed`, {
    tail,
    next: 'nothing to fix: run the target again',
  });
}

export function timeLimitError(what: string, limitMs: number, raise: string): PharosError {
  return new PharosError(`${what} did not finish within ${formatDuration(limitMs)}; its container was stopped and removed`, {
    next: `find out why it hangs (run it by hand in the same image), or raise its limit: ${raise}`,
  });
}

/** The limit of a container or build that has none of its own: long enough for a full Slurm build on two cores. */
export const DEFAULT_CONTAINER_TIMEOUT = '4h';
export const CONTAINER_TIMEOUT_VARIABLE = 'PHAROS_CONTAINER_TIMEOUT';

export function containerTimeLimit(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[CONTAINER_TIMEOUT_VARIABLE]?.trim() || DEFAULT_CONTAINER_TIMEOUT;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new PharosError(`${CONTAINER_TIMEOUT_VARIABLE} must be ${DURATION_EXAMPLES}, got "${text}"`, {
      next: `fix it, or unset it for the default (${DEFAULT_CONTAINER_TIMEOUT})`,
    });
  }
  return ms;
}

export const raiseContainerLimit = (limitMs: number) => `set ${CONTAINER_TIMEOUT_VARIABLE} (now ${formatDuration(limitMs)})`;

/** What a container runs, short enough for a message: its command's first line. */
export function describeCommand(argv: string[]): string {
  const line = argv.join(' ').split('\n')[0];
  return `\`${line.length > 60 ? `${line.slice(0, 57)}...` : line}\``;
}

/** setTimeout's own ceiling (about 24.8 days); a longer limit, or Infinity, means none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits for `work`, or for `limitMs`: then runs `onExpiry` (which stops the work) and answers timedOut once it has
 * finished. Whatever `work` does after that (a wait that returns 137, a request that fails) is ignored.
 */
export async function withinTimeLimit<T>(
  work: Promise<T>,
  limitMs: number,
  onExpiry: () => Promise<unknown>,
): Promise<{ timedOut: false; value: T } | { timedOut: true }> {
  const settled = work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!(limitMs <= MAX_TIMER_MS)) {
    const done = await settled;
    if ('error' in done) throw done.error;
    return { timedOut: false, value: done.value };
  }
  let fired = false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      fired = true;
      void onExpiry()
        .catch(() => undefined)
        .finally(resolve);
    }, limitMs);
  });
  const first = await Promise.race([settled, expired.then(() => undefined)]);
  clearTimeout(timer);
  if (fired) {
    await expired;
    return { timedOut: true };
  }
  const done = first as { value: T } | { error: unknown };
  if ('error' in done) throw done.error;
  return { timedOut: false, value: done.value };
}
