import { describe, expect, it } from 'vitest';
import type { PinnedSource } from '../definitions/source-recipe';
import { absenceLine, sourceAbsence } from './source';

const RECIPE_FILE = 'third-party/beegfs/recipe.yaml';
const unpinned: PinnedSource = { file: 'beegfs-7.4.7.tar.gz', location: { kind: 'url', url: 'https://example.org/7.4.7.tar.gz' } };
const optional = { name: 'beegfs', optional: { why: 'the shared file system' } };

describe('sourceAbsence', () => {
  it('is absent only for an optional recipe with nothing pinned', () => {
    expect(sourceAbsence({ name: 'slurm' }, '1', [unpinned], RECIPE_FILE)).toBeUndefined();
    expect(sourceAbsence(optional, '7.4.7', [{ ...unpinned, sha256: 'a'.repeat(64) }], RECIPE_FILE)).toBeUndefined();
    const absent = sourceAbsence(optional, '7.4.7', [unpinned, unpinned], RECIPE_FILE);
    expect(absent?.why).toBe('the shared file system');
    expect(absent?.reason).toBe(`no source of beegfs 7.4.7 has a pinned sha256, in ${RECIPE_FILE} or in the site's sources config`);
    expect(absent?.next).toContain(`npm run pin -- ${RECIPE_FILE} (downloads beegfs-7.4.7.tar.gz,`);
  });

  it("is absent when the version's packaging tarball has no pin, naming that file", () => {
    const pinned = { ...unpinned, sha256: 'a'.repeat(64) };
    const packaging: PinnedSource = { file: 'beegfs_7.4.7-1.debian.tar.xz', location: { kind: 'debian-pool', package: 'beegfs' } };
    expect(sourceAbsence(optional, '7.4.7', [pinned], RECIPE_FILE, [{ ...packaging, sha256: 'b'.repeat(64) }])).toBeUndefined();
    const absent = sourceAbsence(optional, '7.4.7', [pinned], RECIPE_FILE, [packaging]);
    expect(absent?.reason).toBe(`no packaging tarball of beegfs 7.4.7 has a pinned sha256, in ${RECIPE_FILE} or in the site's sources config`);
    expect(absent?.next).toContain(`pin beegfs_7.4.7-1.debian.tar.xz in ${RECIPE_FILE}, or put the file on a mirror`);
    expect(sourceAbsence(optional, '7.4.7', [unpinned], RECIPE_FILE, [packaging])?.reason).toContain('no source of beegfs');
  });

  it('names no path of this machine: the words are part of a cached product', () => {
    const absent = sourceAbsence(optional, '7.4.7', [unpinned], RECIPE_FILE);
    expect(JSON.stringify(absent)).not.toMatch(/\/home\/|\/root\/|\/tmp\//);
  });

  it('is said loudly, with what is lost and the next step', () => {
    const absent = sourceAbsence(optional, '7.4.7', [unpinned], RECIPE_FILE);
    const line = absenceLine('beegfs', '7.4.7', absent!, 'the VM images leave it out');
    expect(line).toMatch(
      /^pharos: WITHOUT beegfs 7\.4\.7: no source .*; the VM images leave it out \(beegfs: the shared file system\)\. Next: to build beegfs in: npm run pin/,
    );
    expect(line.endsWith('\n')).toBe(true);
  });
});
