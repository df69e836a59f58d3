import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, scriptFolder, stubDir } from '../../testing/sh-stubs';
import { checkEnv, judgeCheckOutput } from './check-results';
import { DEB_CHECKS_SCRIPT } from './executor';

/**
 * deb-checks.sh with the real sh and the checks' real commands, its output judged as the executor judges it;
 * install-debs.sh (apt-get in the suite's container) is a stand-in.
 */
describe('deb-verify checks', () => {
  const checks = [
    { name: 'greets', command: 'echo "Hello, world!"', expectOutput: 'Hello, world!' },
    { name: 'multi-line output with a tab', command: "printf 'a\\tb\\nc\\n'", expectOutput: 'a\tb\nc' },
    { name: 'refuses a bad flag', command: 'echo usage >&2; exit 2', expectExitCode: 2 },
    { command: 'echo Bonjour', expectOutputContains: ['Hello'] },
  ];
  const run = (install = 'echo "install-debs $*"') =>
    runStubbed(
      join(scriptFolder([DEB_CHECKS_SCRIPT], { 'install-debs.sh': install }), 'deb-checks.sh'),
      ['hello_2.10-3_amd64.deb'],
      checkEnv(checks),
      stubDir({}),
    );

  it('installs the .debs, runs every check in order, and each verdict comes from its exit code and output', async () => {
    const r = await run();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').every((l) => l === '' || l.startsWith('pharos-check-result '))).toBe(true);
    expect(r.stderr.split('\n').slice(0, 2)).toEqual([
      'install-debs hello_2.10-3_amd64.deb',
      'pharos-check: ok   installed hello_2.10-3_amd64.deb with apt in a clean container',
    ]);
    expect(r.stderr).toContain('    usage');
    expect(judgeCheckOutput(checks, r.stdout)).toEqual([
      { name: 'greets', failure: undefined },
      { name: 'multi-line output with a tab', failure: undefined },
      { name: 'refuses a bad flag', failure: undefined },
      { name: 'echo Bonjour', failure: 'expected output containing "Hello", got "Bonjour"' },
    ]);
  });

  it('runs no check when the install fails, and says each never ran', async () => {
    const r = await run('echo "E: hello depends on libfoo" >&2; exit 2');
    expect(r.exitCode).toBe(2);
    expect(judgeCheckOutput(checks, r.stdout).map((v) => v.failure)).toEqual(Array(4).fill('it never ran (the container stopped before it)'));
  });
});
