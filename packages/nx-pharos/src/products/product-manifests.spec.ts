import { describe, expect, it } from 'vitest';
import { isBeingWritten, mayBeManifest, recogniseManifest } from './product-manifests';

const H = (c: string) => c.repeat(64);
const json = (v: unknown) => JSON.stringify(v);

describe('recogniseManifest', () => {
  it('describes an image product: its archive, outputs and lock', () => {
    const e = recogniseManifest(
      'dist/containers/openmpi/image.json',
      json({
        schema: 1,
        project: 'openmpi',
        id: `sha256:${H('a')}`,
        tags: ['pharos/openmpi:latest'],
        archive: 'image.tar',
        archiveSha256: H('b'),
        archiveBytes: 10,
      }),
    );
    expect(e).toMatchObject({
      kind: 'image',
      project: 'openmpi',
      digest: H('b'),
      files: [{ path: 'dist/containers/openmpi/image.tar', sha256: H('b'), bytes: 10 }],
      outputs: ['dist/containers/openmpi/image.tar', 'dist/containers/openmpi/image.json'],
      lock: 'dist/containers/openmpi/image.tar.lock',
    });
  });

  it("a container's SIF includes its public key among the outputs; a .def image's has none", () => {
    const sif = { schema: 1, project: 'openmpi', sif: 'openmpi.sif', sha256: H('c'), bytes: 5, mksquashfsArgs: '', apptainerVersion: '1.4.5' };
    expect(recogniseManifest('dist/containers/openmpi/openmpi.sif.json', json(sif))?.outputs).toEqual([
      'dist/containers/openmpi/openmpi.sif',
      'dist/containers/openmpi/openmpi.sif.pub.pem',
      'dist/containers/openmpi/openmpi.sif.json',
    ]);
    const def = { ...sif, project: 'site-shell-1.0', sif: '1.0.sif', definition: { file: 'x.def', sha256: H('d') } };
    expect(recogniseManifest('dist/containers/overlays/site-shell/1.0.sif.json', json(def))).toMatchObject({
      kind: 'sif',
      outputs: ['dist/containers/overlays/site-shell/1.0.sif', 'dist/containers/overlays/site-shell/1.0.sif.json'],
      lock: 'dist/containers/overlays/site-shell/1.0.sif.lock',
    });
  });

  it('an overlay: its .sqf, .env and manifest, versioned by name/version', () => {
    const m = { schema: 1, project: 'htslib-1.16', overlay: 'htslib/1.16', sqf: '1.16.sqf', env: '1.16.env', sha256: H('e'), bytes: 3 };
    expect(recogniseManifest('dist/containers/overlays/htslib/1.16.sqf.json', json(m))).toMatchObject({
      kind: 'overlay',
      version: '1.16',
      outputs: ['dist/containers/overlays/htslib/1.16.sqf', 'dist/containers/overlays/htslib/1.16.env', 'dist/containers/overlays/htslib/1.16.sqf.json'],
      lock: 'dist/containers/overlays/htslib/1.16.sqf.lock',
    });
  });

  it('folder products (a suite of .debs, a tarball build, a base disk) are removed and locked as folders', () => {
    const debs = recogniseManifest(
      'dist/third-party/slurm/24.11.5/trixie/debs.json',
      json({ schema: 1, project: 'slurm', version: '24.11.5', suite: 'trixie', builtOn: 'sha256:x', debs: [{ file: 'a.deb', sha256: H('1'), bytes: 2 }] }),
    );
    expect(debs).toMatchObject({
      kind: 'debs',
      suite: 'trixie',
      files: [{ path: 'dist/third-party/slurm/24.11.5/trixie/a.deb', sha256: H('1'), bytes: 2 }],
      outputs: ['dist/third-party/slurm/24.11.5/trixie'],
      lock: 'dist/third-party/slurm/24.11.5/trixie.lock',
    });
    const tarball = recogniseManifest(
      'dist/third-party/slurm/24.11.5/tarball-trixie/tarball.json',
      json({
        schema: 1,
        project: 'slurm',
        name: 'slurm',
        version: '24.11.5',
        toolchain: 'trixie',
        variants: ['gpu'],
        file: 't.tar.gz',
        sha256: H('2'),
        bytes: 9,
        signature: { file: 't.tar.gz.asc', publicKey: 't.pub.asc', fingerprint: 'ABCD' },
      }),
    );
    expect(tarball).toMatchObject({ kind: 'tarball', suite: 'trixie', variants: ['gpu'], outputs: ['dist/third-party/slurm/24.11.5/tarball-trixie'] });
    expect(tarball?.files.map((f) => f.path)).toEqual([
      'dist/third-party/slurm/24.11.5/tarball-trixie/t.tar.gz',
      'dist/third-party/slurm/24.11.5/tarball-trixie/t.tar.gz.asc',
      'dist/third-party/slurm/24.11.5/tarball-trixie/t.pub.asc',
    ]);
    const base = recogniseManifest(
      'dist/packer/cloud-base/base/base.json',
      json({ schema: 1, file: 'base.qcow2', sha256: H('3'), bytes: 1, suite: 'trixie', mirror: 'http://mirror.example/debian' }),
    );
    expect(base).toMatchObject({
      kind: 'base-disk',
      project: 'cloud-base',
      outputs: ['dist/packer/cloud-base/base'],
      lock: 'dist/packer/cloud-base/base.lock',
    });
  });

  it("an absent optional package is a product too, with the reason and no files; a source record's file stays in the source cache", () => {
    const absent = { why: 'w', reason: 'no source of beegfs 7.4.7 has a pinned sha256', next: 'n' };
    expect(
      recogniseManifest(
        'dist/third-party/beegfs/7.4.7/bookworm/debs.json',
        json({ schema: 1, project: 'beegfs', version: '7.4.7', suite: 'bookworm', absent, debs: [] }),
      ),
    ).toMatchObject({ kind: 'debs', absent: absent.reason, files: [] });
    expect(
      recogniseManifest(
        'dist/third-party/slurm/24.11.5/source.json',
        json({ schema: 1, name: 'slurm', version: '24.11.5', available: true, file: 's.tar.gz', sha256: H('4'), from: 'cache' }),
      ),
    ).toMatchObject({ kind: 'source', project: 'slurm', digest: H('4'), files: [], outputs: ['dist/third-party/slurm/24.11.5/source.json'] });
  });

  it("never takes another tool's file for a manifest", () => {
    const image = { schema: 1, project: 'p', id: 'sha256:x', archive: 'image.tar', archiveSha256: H('a') };
    expect(recogniseManifest('dist/other-tool/image.json', json({ ...image, schema: 2 }))).toBeUndefined();
    expect(recogniseManifest('dist/other-tool/image.json', json({ name: 'something else' }))).toBeUndefined();
    expect(recogniseManifest('dist/other-tool/image.json', 'not json')).toBeUndefined();
    expect(recogniseManifest('dist/other-tool/image.json', '[1]')).toBeUndefined();
    expect(recogniseManifest('elsewhere/image.json', json(image))).toBeUndefined();
    expect(recogniseManifest('dist/packer/x/packer-manifest.json', json({ schema: 1 }))).toBeUndefined();
    expect(mayBeManifest('packer-manifest.json')).toBe(false);
    expect(mayBeManifest('x.sif.json')).toBe(true);
    expect(mayBeManifest('package.json')).toBe(false);
  });

  it('knows a product being written (a temporary sibling or an owned tree) from one in place', () => {
    expect(isBeingWritten('.base-tools.sif.tmp-p24594@5bce-c40686')).toBe(true);
    expect(isBeingWritten('tarball-trixie.new-p24594@5bce-c40686')).toBe(true);
    expect(isBeingWritten('tarball-trixie')).toBe(false);
    expect(isBeingWritten('1.16.sqf.json')).toBe(false);
  });
});
