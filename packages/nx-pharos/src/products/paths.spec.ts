import { describe, expect, it } from 'vitest';
import { asOutput, debsDir, productDir, tarballDir } from './paths';

describe('product paths', () => {
  it('spell one path for files and for Nx outputs with tokens', () => {
    expect(debsDir('third-party/slurm', '24.11.5', 'bookworm')).toBe('dist/third-party/slurm/24.11.5/bookworm');
    expect(asOutput(tarballDir('{projectRoot}', '{options.release}', '{options.suite}'))).toBe(
      '{workspaceRoot}/dist/{projectRoot}/{options.release}/tarball-{options.suite}',
    );
    expect(productDir('containers/openmpi', 'image.json')).toBe('dist/containers/openmpi/image.json');
  });
});
