import type { ExecutorContext } from '@nx/devkit';
import { describe, expect, it } from 'vitest';
import { normalizeSifOptions, type SifExecutorOptions } from '../../lib/image/normalize-options';
import type { PharosError } from '../../utils/errors';
import { squashfsArgsOf } from './build-sif';

const context = {
  root: '/w',
  projectName: 'demo',
  targetName: 'sif',
  projectsConfigurations: { version: 2, projects: { demo: { root: 'containers/demo' } } },
} as unknown as ExecutorContext;
const args = (options: SifExecutorOptions) => squashfsArgsOf(normalizeSifOptions(options, context));

describe('squashfsArgsOf', () => {
  it('defaults to zstd level 1, and names the option to fix when a compressor takes no level', () => {
    expect(args({})).toBe('-comp zstd -Xcompression-level 1');
    expect(() => args({ compression: 'lz4', compressionLevel: 3 })).toThrow(/squashfs compression lz4 takes no level/);
    const failure = (() => {
      try {
        args({ compression: 'gzip', compressionLevel: 12 });
      } catch (err) {
        return (err as PharosError).format();
      }
    })();
    expect(failure).toMatch(/^pharos: demo:sif: gzip compression level must be 1-9, got 12\n {2}next: fix sif.compression/);
  });
});
