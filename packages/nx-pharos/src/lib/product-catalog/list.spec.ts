import { describe, expect, it } from 'vitest';
import { recogniseManifest, type ProductEntry } from '../../products/product-manifests';
import { filterListRows, formatList, listRows, type FileState, type ListedProduct } from './list';

const H = (c: string) => c.repeat(64);

function entry(manifest: string, data: object): ProductEntry {
  const e = recogniseManifest(manifest, JSON.stringify({ schema: 1, ...data }));
  if (!e) throw new Error(`not recognised: ${manifest}`);
  return e;
}

const sif = entry('dist/containers/openmpi/openmpi.sif.json', { project: 'openmpi', sif: 'openmpi.sif', sha256: H('c'), bytes: 2048 });
const image = entry('dist/containers/openmpi/image.json', {
  project: 'openmpi',
  id: 'sha256:x',
  archive: 'image.tar',
  archiveSha256: H('b'),
  archiveBytes: 4096,
});
const tarball = entry('dist/third-party/slurm/24.11.5/tarball-trixie/tarball.json', {
  project: 'slurm',
  name: 'slurm',
  version: '24.11.5',
  toolchain: 'trixie',
  variants: ['gpu', 'minimal'],
  file: 't.tar.gz',
  sha256: H('2'),
  bytes: 100,
});
const absent = entry('dist/third-party/beegfs/7.4.7/bookworm/debs.json', {
  project: 'beegfs',
  version: '7.4.7',
  suite: 'bookworm',
  absent: { why: 'w', reason: 'no source of beegfs 7.4.7 has a pinned sha256', next: 'n' },
  debs: [],
});

const DATE = '2026-11-30T03:00:00.000Z';
const listed = (e: ProductEntry, files: Record<string, FileState>): ListedProduct => ({ entry: e, files: new Map(Object.entries(files)), date: DATE });

describe('listRows', () => {
  it('sorts by project then kind, and sizes each product by the real file behind its link', () => {
    const rows = listRows([
      listed(sif, { 'dist/containers/openmpi/openmpi.sif': { state: 'store-link', bytes: 2048, blob: 'cccccccccccc' } }),
      listed(tarball, { 'dist/third-party/slurm/24.11.5/tarball-trixie/t.tar.gz': { state: 'file', bytes: 100 } }),
      listed(image, { 'dist/containers/openmpi/image.tar': { state: 'store-link', bytes: 4096, blob: 'bbbbbbbbbbbb' } }),
      listed(absent, {}),
    ]);
    expect(rows.map((r) => [r.project, r.kind, r.status, r.bytes])).toEqual([
      ['beegfs', 'debs', 'absent', undefined],
      ['openmpi', 'image', 'ok', 4096],
      ['openmpi', 'sif', 'ok', 2048],
      ['slurm', 'tarball', 'ok', 100],
    ]);
    expect(rows[0].reasons).toEqual(['no source of beegfs 7.4.7 has a pinned sha256']);
    expect(rows[3]).toMatchObject({ version: '24.11.5', suite: 'trixie', variants: ['gpu', 'minimal'], digest: H('2'), date: DATE });
  });

  it("says when a link's blob is missing (sized by the manifest) and when a file is missing or of another size", () => {
    const [missingBlob] = listRows([listed(sif, { 'dist/containers/openmpi/openmpi.sif': { state: 'missing-blob', blob: 'cccccccccccc' } })]);
    expect(missingBlob).toMatchObject({ status: 'missing blob', bytes: 2048 });
    expect(missingBlob.reasons[0]).toContain('links to cccccccccccc, which this machine');
    expect(listRows([listed(sif, {})])[0]).toMatchObject({ status: 'damaged', reasons: ['dist/containers/openmpi/openmpi.sif is missing'] });
    expect(listRows([listed(sif, { 'dist/containers/openmpi/openmpi.sif': { state: 'file', bytes: 7 } })])[0].reasons).toEqual([
      'dist/containers/openmpi/openmpi.sif has 7 bytes, the manifest records 2048',
    ]);
  });

  it('filters by kind and by project, and prints a table with short digests and reasons under the row', () => {
    const rows = listRows([listed(sif, {}), listed(image, { 'dist/containers/openmpi/image.tar': { state: 'file', bytes: 4096 } }), listed(absent, {})]);
    expect(filterListRows(rows, { kinds: ['sif'], terms: [] }).map((r) => r.kind)).toEqual(['sif']);
    expect(filterListRows(rows, { kinds: [], terms: ['MPI'] }).map((r) => r.project)).toEqual(['openmpi', 'openmpi']);
    expect(filterListRows(rows, { kinds: [], terms: ['bee*'] }).map((r) => r.project)).toEqual(['beegfs']);
    expect(filterListRows(rows, { kinds: [], terms: ['gfs*'] })).toEqual([]);
    const text = formatList(rows);
    expect(text.split('\n')[0].split(/\s+/)).toEqual(['PROJECT', 'KIND', 'VERSION', 'VARIANTS', 'SUITE', 'SIZE', 'DATE', 'DIGEST', 'STATUS']);
    expect(text).toContain(`openmpi  image  -        -         -         4.0 KiB  2026-11-30 03:00  ${'b'.repeat(12)}  ok\n`);
    expect(text).toContain('    damaged: dist/containers/openmpi/openmpi.sif is missing\n');
  });
});
