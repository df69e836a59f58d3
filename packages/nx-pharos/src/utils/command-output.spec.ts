import { describe, expect, it } from 'vitest';
import { commandOutput } from './command-output';

describe('commandOutput', () => {
  it("gives a real command's exit code and trimmed output, with the environment added to the caller's", async () => {
    expect(await commandOutput('sh', ['-c', 'echo "$A"; echo err >&2'], { A: 'one' })).toEqual({ exitCode: 0, stdout: 'one', stderr: 'err' });
    expect(await commandOutput('sh', ['-c', 'echo half; exit 3'])).toEqual({ exitCode: 3, stdout: 'half', stderr: '' });
  });

  it('says so, without throwing, when the command is not there', async () => {
    const r = await commandOutput('pharos-no-such-command', ['--version']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toMatch(/ENOENT/);
  });
});
