import { describe, expect, it } from 'vitest';
import { overlayCompression, packArgv } from './mksquashfs';

describe('mksquashfs', () => {
  it('packs /cnt root-owned, 128K blocks for an app and 1M for data', () => {
    const argv = packArgv({ tree: '/w/tmp/s/root/cnt', dest: '/w/dist/x.sqf', type: 'app', processors: 2, compression: '-comp zstd -Xcompression-level 3' });
    expect(argv).toEqual([
      'mksquashfs',
      '/w/tmp/s/root/cnt',
      '/w/dist/x.sqf',
      '-noappend',
      '-keep-as-directory',
      '-all-root',
      '-processors',
      '2',
      '-b',
      '128K',
      '-comp',
      'zstd',
      '-Xcompression-level',
      '3',
      '-no-progress',
    ]);
    expect(packArgv({ tree: 't', dest: 'd', type: 'data', processors: 1, compression: '-comp gzip' })).toContain('1M');
  });

  it('defaults to zstd level 3 and refuses a level the compressor does not take', () => {
    expect(overlayCompression()).toBe('-comp zstd -Xcompression-level 3');
    expect(overlayCompression('gzip', 9)).toBe('-comp gzip -Xcompression-level 9');
    expect(() => overlayCompression('lz4', 2)).toThrow(/takes no level/);
  });
});
