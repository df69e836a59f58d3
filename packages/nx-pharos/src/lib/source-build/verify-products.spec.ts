import { describe, expect, it } from 'vitest';
import { checkBinds } from './verify-products';

describe('checkBinds', () => {
  it("binds the product folder, this machine's store where the folder's links lead from a shallow mount, and the scripts", () => {
    expect(checkBinds('/ws/dist/slurm/24.11/trixie:/debs:ro', ['/p/deb-check.sh:/pharos/deb-check.sh:ro'], '/root/.cache/pharos/store')).toEqual([
      '/ws/dist/slurm/24.11/trixie:/debs:ro',
      '/root/.cache/pharos/store:/.pharos/store:ro',
      '/p/deb-check.sh:/pharos/deb-check.sh:ro',
    ]);
    expect(checkBinds('/d:/debs:ro', [], undefined)).toEqual(['/d:/debs:ro']);
  });
});
