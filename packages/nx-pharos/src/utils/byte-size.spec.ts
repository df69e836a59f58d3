import { describe, expect, it } from 'vitest';
import { formatBytes, parseByteSize } from './byte-size';

describe('byte sizes', () => {
  it('reads bytes and binary units, with or without B or iB, in either case', () => {
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('100K')).toBe(100 * 1024);
    expect(parseByteSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('2g')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('2GB')).toBe(2 * 1024 ** 3);
    expect(parseByteSize(' 1 T ')).toBe(1024 ** 4);
    expect(parseByteSize('10B')).toBe(10);
  });

  it('refuses what is not a positive whole size', () => {
    for (const bad of ['', '0', '0M', '-1', '1.5G', 'M', '5X', '8iB', '5 MB extra', '99999999999999999999']) expect(parseByteSize(bad), bad).toBeUndefined();
  });

  it('gives sizes in binary units', () => {
    expect([0, 1023, 1024, 1417216, 8069120, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.4 MiB', '7.7 MiB', '5.0 GiB']);
  });
});
