import { describe, expect, it } from 'vitest';
import { recogniseManifest, type ProductEntry } from '../../products/product-manifests';
import { builtFrom, findProducts, formatProductInfo, productInfo, signaturesOf } from './info';

const H = (c: string) => c.repeat(64);
function entry(manifest: string, data: object): ProductEntry {
  const e = recogniseManifest(manifest, JSON.stringify({ schema: 1, ...data }));
  if (!e) throw new Error(`not recognised: ${manifest}`);
  return e;
}

const sif = entry('dist/containers/openmpi/openmpi.sif.json', {
  project: 'openmpi',
  sif: 'openmpi.sif',
  sha256: H('c'),
  bytes: 2048,
  image: { id: 'sha256:img', archiveSha256: H('b') },
  mksquashfsArgs: '-comp zstd',
  apptainerVersion: '1.4.5',
});
const tarball = entry('dist/third-party/slurm/24.11.5/tarball-trixie/tarball.json', {
  project: 'slurm',
  name: 'slurm',
  version: '24.11.5',
  toolchain: 'trixie',
  variants: [],
  file: 't.tar.gz',
  sha256: H('2'),
  bytes: 100,
  source: { file: 's.orig.tar.gz', sha256: H('5') },
  builtOn: 'sha256:base',
  configureFlags: [],
  components: [{ name: 'openmpi', version: '5.0.7', source: { file: 'o.orig.tar.xz', sha256: H('6') }, configureFlags: ['--with-slurm'] }],
  compiler: { name: 'gcc', version: '14.2.0' },
  modules: { layout: 'flat', files: [] },
  bundled: [{ soname: 'libmunge.so.2', package: 'libmunge2' }],
  signature: { file: 't.tar.gz.asc', publicKey: 't.pub.asc', fingerprint: 'ABCDEF0123456789' },
});
const debs = entry('dist/third-party/slurm/24.11.5/trixie/debs.json', { project: 'slurm', version: '24.11.5', suite: 'trixie', debs: [] });

describe('pharos info', () => {
  it('says what a product was built from, by kind', () => {
    expect(builtFrom('sif', sif.manifestData)).toEqual([`image: sha256:img (archive sha256 ${H('b')})`, 'apptainer 1.4.5, mksquashfs -comp zstd']);
    expect(builtFrom('tarball', tarball.manifestData)).toEqual([
      `source: s.orig.tar.gz sha256 ${H('5')}`,
      'built on image sha256:base',
      `component openmpi 5.0.7: o.orig.tar.xz sha256 ${H('6')}, configure flags: --with-slurm`,
      'modules: flat layout, compiler gcc 14.2.0',
      'bundled libraries: libmunge.so.2 (libmunge2)',
    ]);
  });

  it("finds a SIF's signature by its public key beside it, and a tarball's by the files its manifest names", () => {
    expect(signaturesOf(sif, () => false)?.[0]).toMatchObject({ present: false, files: ['dist/containers/openmpi/openmpi.sif.pub.pem'] });
    expect(signaturesOf(sif, (p) => p.endsWith('.pub.pem'))?.[0].present).toBe(true);
    const present = (p: string) => p.endsWith('.asc');
    expect(signaturesOf(tarball, present)?.[0]).toMatchObject({
      present: true,
      fingerprint: 'ABCDEF0123456789',
      files: ['dist/third-party/slurm/24.11.5/tarball-trixie/t.tar.gz.asc', 'dist/third-party/slurm/24.11.5/tarball-trixie/t.pub.asc'],
    });
    expect(signaturesOf(tarball, (p) => p.endsWith('t.tar.gz.asc'))?.[0].present).toBe(false);
    expect(signaturesOf(debs, () => true)).toBeUndefined();
  });

  it('finds products by manifest, product file, folder, or project[/version|/suite], and names the projects there are otherwise', () => {
    const all = [sif, tarball, debs];
    expect(findProducts(all, './dist/containers/openmpi/openmpi.sif')).toEqual([sif]);
    expect(findProducts(all, 'dist/third-party/slurm/24.11.5/trixie/')).toEqual([debs]);
    expect(findProducts(all, 'dist/third-party/slurm')).toEqual([tarball, debs]);
    expect(findProducts(all, 'slurm/trixie')).toEqual([tarball, debs]);
    expect(findProducts(all, 'slurm/24.11.5/trixie')).toEqual([tarball, debs]);
    expect(() => findProducts(all, 'slurm/24.11.5/bookworm')).toThrow(/no product slurm\/24.11.5\/bookworm/);
    expect(findProducts(all, 'openmpi')).toEqual([sif]);
    expect(() => findProducts(all, 'slurm/99')).toThrow('no product slurm/99 in dist/');
    try {
      findProducts(all, 'nope');
    } catch (err) {
      expect((err as { details: { next: string } }).details.next).toContain('openmpi, slurm');
    }
  });

  it('prints files with their place in the store, the signatures and the whole manifest', () => {
    const info = productInfo(
      tarball,
      { status: 'ok', reasons: [] },
      new Map([['dist/third-party/slurm/24.11.5/tarball-trixie/t.tar.gz', { state: 'store-link' as const, bytes: 100, blob: '222222222222' }]]),
      signaturesOf(tarball, () => true),
      'nx-task slurm:tarball (pid 1 on vm, since now)',
    );
    const text = formatProductInfo(info);
    expect(text).toContain('    dist/third-party/slurm/24.11.5/tarball-trixie/t.tar.gz (100 B): a link into the store, blob present (222222222222)\n');
    expect(text).toContain('    dist/third-party/slurm/24.11.5/tarball-trixie/t.tar.gz.asc: missing\n');
    expect(text).toContain('  building:    locked by nx-task slurm:tarball');
    expect(text).toContain('signer ABCDEF0123456789');
    expect(text).toContain('      "toolchain": "trixie",');
    expect(formatProductInfo(productInfo(debs, { status: 'ok', reasons: [] }, new Map(), undefined))).toContain('    none: Pharos signs no debs;');
  });
});
