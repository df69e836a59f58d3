import { describe, expect, it } from 'vitest';
import { timeLimitError } from '../../tools/docker-outcome';
import { checkTimeLimit } from './check-limits';

const YAML = 'containers/x/container.yaml';

describe("a check's time limit", () => {
  it('is its timeout, else 10 minutes, and says where to raise it', () => {
    expect(checkTimeLimit({ name: 'slow', command: 'sleep 100000', timeout: '2s' }, 'docker', YAML)).toEqual({
      ms: 2000,
      what: 'check "slow"',
      raise: 'set "timeout:" on the check in containers/x/container.yaml (now 2s; the default is 10m)',
    });
    expect(checkTimeLimit({ command: 'true' }, 'apptainer', YAML)).toMatchObject({ ms: 600_000, what: 'check "true" under apptainer' });
  });

  it('names the hung check and its limit when it expires', () => {
    const limit = checkTimeLimit({ name: 'slow', command: 'sleep 100000', timeout: '90s' }, 'docker', YAML);
    expect(timeLimitError(limit.what, limit.ms, limit.raise).format()).toBe(
      'pharos: check "slow" did not finish within 90s; its container was stopped and removed\n' +
        '  next: find out why it hangs (run it by hand in the same image), or raise its limit: ' +
        'set "timeout:" on the check in containers/x/container.yaml (now 90s; the default is 10m)',
    );
  });

  it('refuses a timeout in the options that is not a duration, naming the check', () => {
    expect(() => checkTimeLimit({ name: 'slow', command: 'x', timeout: '10' }, 'docker', 'the "checks" option of t:test')).toThrow(
      'check "slow": "timeout" must be a duration such as 90s, 10m or 1h30m, got "10"',
    );
  });
});
