import { describe, expect, it } from 'vitest';
import { mismatchVerdict, pinLine } from './source-cache';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('pinLine', () => {
  const recipe = [
    'name: hello',
    'versions:',
    '  "1.0":',
    '    sources:',
    '      - kind: url',
    '        url: file:///m/hello-1.0.tar.gz',
    `        sha256: ${A}`,
    '  "1.1":',
    '    sources:',
    `      - sha256: ${A}`,
    '        kind: debian-orig',
    '        package: hello',
    '        file: hello_1.1.orig.tar.gz',
    '',
  ].join('\n');

  it("finds the source entry that names the file, not another version's pin of the same digest", () => {
    expect(pinLine(recipe, 'hello-1.0.tar.gz', A)).toBe(7);
    expect(pinLine(recipe, 'hello_1.1.orig.tar.gz', A)).toBe(10);
  });

  it("finds a site's pin, and falls back to the first mention of the digest", () => {
    expect(pinLine(`mirrors: []\npins:\n  other.tar.gz: ${A}\n  x.tar.gz: ${A}\n`, 'x.tar.gz', A)).toBe(4);
    expect(pinLine(recipe, 'elsewhere.tar.gz', A)).toBe(7);
    expect(pinLine(`not: [yaml\n${B}\n`, 'x.tar.gz', B)).toBe(2);
    expect(pinLine(recipe, 'hello-1.0.tar.gz', B)).toBeUndefined();
  });
});

describe('mismatchVerdict', () => {
  it('blames the pin when the file matched its digest before, and the file otherwise', () => {
    expect(mismatchVerdict(A, B, '2025-03-04T05:06:07.000Z')).toBe(`the pin is likely wrong (this file matched sha256 ${A} on 2025-03-04; the pin says ${B})`);
    expect(mismatchVerdict(A, B, undefined)).toBe(
      `the file is likely bad, e.g. a truncated or replaced download (its sha256 ${A} never matched a pin in this cache; the pin says ${B})`,
    );
  });
});
