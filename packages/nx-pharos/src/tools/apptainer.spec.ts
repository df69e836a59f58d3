import { describe, expect, it } from 'vitest';
import { buildFromArchiveArgv, mksquashfsArgs, parseInspectLabels, parseSifObjectTypes, signArgv } from './apptainer';

describe('apptainer calls', () => {
  it('defaults to zstd at level 1 and checks levels per compressor', () => {
    expect(mksquashfsArgs()).toBe('-comp zstd -Xcompression-level 1');
    expect(mksquashfsArgs('zstd', 19)).toBe('-comp zstd -Xcompression-level 19');
    expect(mksquashfsArgs('gzip')).toBe('-comp gzip');
    expect(mksquashfsArgs('lz4')).toBe('-comp lz4');
    expect(() => mksquashfsArgs('lz4', 3)).toThrow(/takes no level/);
    expect(() => mksquashfsArgs('gzip', 12)).toThrow(/1-9/);
  });

  it('converts from the archive, never from a daemon', () => {
    expect(buildFromArchiveArgv('/w/x.sif', '/w/image.tar', '-comp lz4')).toEqual([
      'apptainer', 'build', '--force', '--mksquashfs-args', '-comp lz4', '/w/x.sif', 'docker-archive:/w/image.tar',
    ]);
  });

  it('puts only file paths on the signing argv', () => {
    const argv = signArgv('/w/x.sif', '/tmp/k/key.pem', '/tmp/k/passphrase', '/w/x.sif.pub');
    expect(argv.slice(3)).toEqual(['pharos-sign', '/tmp/k/key.pem', '/tmp/k/passphrase', '/w/x.sif', '/w/x.sif.pub']);
    expect(argv[2]).toContain('-passin "file:$passphrase"');
  });

  it('reads labels and SIF object types', () => {
    expect(parseInspectLabels('{"data":{"attributes":{"labels":{"a":"1"}}},"type":"container"}')).toEqual({ a: '1' });
    const listing = [
      '------------------------------------------------------------------------------',
      'ID   |GROUP   |LINK    |SIF POSITION (start-end)  |TYPE',
      '------------------------------------------------------------------------------',
      '1    |1       |NONE    |32176-32221               |Def.FILE',
      '4    |1       |NONE    |36864-163176448           |FS (Squashfs/*System/amd64)',
      '5    |NONE    |1   (G) |2781184-2782981           |Signature (SHA-256)',
    ].join('\n');
    expect(parseSifObjectTypes(listing)).toEqual(['Def.FILE', 'FS (Squashfs/*System/amd64)', 'Signature (SHA-256)']);
  });
});
