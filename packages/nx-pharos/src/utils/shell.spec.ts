import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from './shell';

const HOSTILE = [
  '',
  'plain',
  'two words',
  "it's",
  "''",
  "'; rm -rf / #",
  '$(touch /tmp/pharos-pwned)',
  '`id`',
  '${HOME}',
  '"double" and \\backslash\\',
  'line one\nline two\n',
  '*',
  '-n',
  '\t\u00e9\u2713',
];

describe('shellQuote', () => {
  it.each(HOSTILE)('%j reaches the real sh as one unchanged word', (value) => {
    const script = `set -- ${shellQuote(value)}; printf '%s|%s' "$#" "$1"`;
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe(`1|${value}`);
  });

  it('quotes several words in one line, each kept whole', () => {
    const script = `set -- ${HOSTILE.map(shellQuote).join(' ')}; printf '%s\\0' "$@"`;
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' }).split('\0').slice(0, -1)).toEqual(HOSTILE);
  });
});
