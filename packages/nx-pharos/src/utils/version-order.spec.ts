import { describe, expect, it } from 'vitest';
import { compareVersions, sortVersions } from './version-order';

describe('compareVersions', () => {
  it('orders numeric parts as numbers, as sort -V does', () => {
    expect(sortVersions(['1.21', '1.10', '1.9', '1.2'])).toEqual(['1.2', '1.9', '1.10', '1.21']);
    expect(sortVersions(['2.7.11b', '2.7.9a', '2.7.11a', '2.7.10'])).toEqual(['2.7.9a', '2.7.10', '2.7.11a', '2.7.11b']);
  });

  it('puts a tilde before the release and a longer version after its prefix', () => {
    expect(sortVersions(['1.0', '1.0~rc1', '1.0.1', '1.0+dfsg'])).toEqual(['1.0~rc1', '1.0', '1.0+dfsg', '1.0.1']);
    expect(compareVersions('1.10', '1.10.0')).toBeLessThan(0);
  });

  it('is 0 only for the same string, so a sort is the same on every run', () => {
    expect(compareVersions('1.21', '1.21')).toBe(0);
    expect(compareVersions('1.01', '1.1')).not.toBe(0);
    expect(Math.sign(compareVersions('1.01', '1.1'))).toBe(-Math.sign(compareVersions('1.1', '1.01')));
  });

  it('agrees with GNU sort -V on a mixed list', () => {
    // `printf '%s\n' … | sort -V` (GNU coreutils 9.1) gives this order: a letter sorts before a dot.
    const list = ['10', '9.9', '1.0a', '1.0', '1.0.0', '0.9', '1.00.1'];
    expect(sortVersions(list)).toEqual(['0.9', '1.0', '1.0a', '1.0.0', '1.00.1', '9.9', '10']);
  });
});
