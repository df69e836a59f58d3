import { describe, expect, it } from 'vitest';
import { formatError, PharosError } from './errors';

describe('PharosError', () => {
  it('puts file, line and step first and the next action last', () => {
    const text = new PharosError('boom', { file: 'a/Dockerfile', line: 3, step: 'step 2/4 `RUN x`', tail: ['l1'], next: 'fix it' }).format();
    expect(text).toBe('pharos: a/Dockerfile:3: step 2/4 `RUN x`: boom\n  last output:\n    l1\n  next: fix it');
    expect(formatError(new Error('plain'))).toBe('pharos: plain');
  });
});
