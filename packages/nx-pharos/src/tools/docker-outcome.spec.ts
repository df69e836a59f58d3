import { describe, expect, it } from 'vitest';
import {
  blame,
  buildStepExitCode,
  containerTimeLimit,
  describeCommand,
  notTheStepError,
  raiseContainerLimit,
  timeLimitError,
  withinTimeLimit,
} from './docker-outcome';

const STEP_137 = "The command '/bin/sh -c sleep 45' returned a non-zero code: 137";

describe('who a failed Docker step is down to', () => {
  it('a step that failed while the engine answers is the step', () => {
    expect(blame({ text: "The command '/bin/sh -c false' returned a non-zero code: 1", exitCode: 1, engineAnswers: true })).toBe('step');
    // Killed while the engine is up: out of memory, or a kill inside the container. Still the step's.
    expect(blame({ text: STEP_137, exitCode: 137, engineAnswers: true })).toBe('step');
    expect(blame({ text: 'error gathering device information while adding custom device "/dev/x": no such file or directory', engineAnswers: true })).toBe(
      'step',
    );
  });

  it('a step killed, or a request failed, while the engine no longer answers is the engine', () => {
    expect(blame({ text: STEP_137, exitCode: 137, engineAnswers: false })).toBe('engine');
    expect(blame({ text: '', exitCode: 143, engineAnswers: false })).toBe('engine');
    expect(blame({ text: 'read ECONNRESET', engineAnswers: false })).toBe('engine');
  });

  it('a broken connection is the engine even when it answers again (it restarted)', () => {
    expect(blame({ text: 'socket hang up', engineAnswers: true })).toBe('engine');
    expect(blame({ text: 'connect ENOENT /var/run/docker.sock', engineAnswers: true })).toBe('engine');
  });

  it('a step that exited with its own code failed by itself, whatever happened to the engine after', () => {
    expect(blame({ text: 'returned a non-zero code: 2', exitCode: 2, engineAnswers: false })).toBe('step');
  });

  it('a signal we received is the signal, before anything else', () => {
    expect(blame({ text: 'The operation was aborted', engineAnswers: true, signal: 'SIGINT' })).toBe('signal');
    expect(blame({ text: STEP_137, exitCode: 137, engineAnswers: false, signal: 'SIGTERM' })).toBe('signal');
  });

  it("reads the step's exit code from the builder's message", () => {
    expect(buildStepExitCode(STEP_137)).toBe(137);
    expect(buildStepExitCode('process "/bin/sh -c make" did not complete successfully: exit code: 2')).toBe(2);
    expect(buildStepExitCode('no such image')).toBeUndefined();
  });
});

describe('the messages', () => {
  it('a lost engine says so, and that the next step is to start it and run again', () => {
    expect(notTheStepError('engine', 'during step 2/2 (`RUN sleep 45`)', STEP_137).format()).toBe(
      'pharos: the Docker engine went away during step 2/2 (`RUN sleep 45`)\n' +
        '  last output:\n' +
        `    ${STEP_137}\n` +
        '  next: start it (`npm run setup`) and run the target again',
    );
  });

  it('a signal says which, and that there is nothing to fix', () => {
    expect(notTheStepError('signal', 'while check "slow" ran', '', 'SIGINT').format()).toBe(
      'pharos: stopped by SIGINT while check "slow" ran; its container was removed\n  next: nothing to fix: run the target again',
    );
  });

  it('a time limit names what hung, for how long, and how to raise it', () => {
    expect(timeLimitError('`make -j2`', 4 * 3_600_000, raiseContainerLimit(4 * 3_600_000)).format()).toBe(
      'pharos: `make -j2` did not finish within 4h; its container was stopped and removed\n' +
        '  next: find out why it hangs (run it by hand in the same image), or raise its limit: set PHAROS_CONTAINER_TIMEOUT (now 4h)',
    );
  });

  it("names a container by its command's first line, shortened", () => {
    expect(describeCommand(['ldconfig', '-p'])).toBe('`ldconfig -p`');
    expect(describeCommand(['sh', '-c', 'set -e\nmake'])).toBe('`sh -c set -e`');
    expect(describeCommand(['sh', '-c', 'x'.repeat(100)])).toBe(`\`sh -c ${'x'.repeat(51)}...\``);
  });
});

describe('the default time limit', () => {
  it('is 4h, or PHAROS_CONTAINER_TIMEOUT, which must be a duration', () => {
    expect(containerTimeLimit({})).toBe(4 * 3_600_000);
    expect(containerTimeLimit({ PHAROS_CONTAINER_TIMEOUT: '30m' })).toBe(1_800_000);
    expect(() => containerTimeLimit({ PHAROS_CONTAINER_TIMEOUT: '4 hours' })).toThrow(
      'PHAROS_CONTAINER_TIMEOUT must be a duration such as 90s, 10m or 1h30m, got "4 hours"',
    );
  });
});

describe('withinTimeLimit', () => {
  it('answers the value of work that finishes in time, and its error', async () => {
    let stopped = false;
    const stop = async () => void (stopped = true);
    expect(await withinTimeLimit(Promise.resolve(3), 1000, stop)).toEqual({ timedOut: false, value: 3 });
    await expect(withinTimeLimit(Promise.reject(new Error('boom')), 1000, stop)).rejects.toThrow('boom');
    expect(await withinTimeLimit(Promise.resolve(4), Infinity, stop)).toEqual({ timedOut: false, value: 4 });
    expect(stopped).toBe(false);
  });

  it('stops work that hangs, and answers only once the stop has finished', async () => {
    let release: (code: number) => void = () => undefined;
    const hung = new Promise<number>((resolve) => (release = resolve));
    const events: string[] = [];
    const stop = async () => {
      events.push('stop');
      release(137); // removing the container ends its wait, which must not count as finishing
      await new Promise((r) => setTimeout(r, 20));
      events.push('stopped');
    };
    expect(await withinTimeLimit(hung, 10, stop)).toEqual({ timedOut: true });
    expect(events).toEqual(['stop', 'stopped']);
  });
});
