import { describe, expect, it } from 'vitest';
import { judgeCheck } from './image-check';

describe('judgeCheck', () => {
  it('compares exit code first, then exact or contained output', () => {
    expect(judgeCheck({ command: 'x', expectOutput: 'a' }, { exitCode: 0, stdout: 'a\n' })).toBeUndefined();
    expect(judgeCheck({ command: 'x' }, { exitCode: 2, stdout: '' })).toBe('expected exit code 0, got 2');
    expect(judgeCheck({ command: 'x', expectExitCode: 2 }, { exitCode: 2, stdout: '' })).toBeUndefined();
    expect(judgeCheck({ command: 'x', expectOutput: 'a' }, { exitCode: 0, stdout: 'b' })).toBe('expected output "a", got "b"');
    expect(judgeCheck({ command: 'x', expectOutputContains: 'll' }, { exitCode: 0, stdout: 'hello' })).toBeUndefined();
  });

  it('needs every expected fragment, in any order', () => {
    const check = { command: 'mpirun', expectOutputContains: ['rank 0 of 2', 'rank 1 of 2'] };
    expect(judgeCheck(check, { exitCode: 0, stdout: 'rank 1 of 2\nrank 0 of 2\n' })).toBeUndefined();
    expect(judgeCheck(check, { exitCode: 0, stdout: 'rank 0 of 2\n' })).toBe('expected output containing "rank 1 of 2", got "rank 0 of 2"');
  });
});
