import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFromArchiveArgv, mksquashfsArgs, overlayExecArgv, parseInspectLabels, parseSifObjectTypes, signArgv } from './apptainer';

describe('apptainer calls', () => {
  it('defaults to zstd at level 1 and checks levels per compressor', () => {
    expect(mksquashfsArgs()).toBe('-comp zstd -Xcompression-level 1');
    expect(mksquashfsArgs('zstd', 19)).toBe('-comp zstd -Xcompression-level 19');
    expect(mksquashfsArgs('gzip')).toBe('-comp gzip');
    expect(mksquashfsArgs('lz4')).toBe('-comp lz4');
    expect(() => mksquashfsArgs('lz4', 3)).toThrow(/takes no level/);
    expect(() => mksquashfsArgs('gzip', 12)).toThrow(/1-9/);
  });

  it('execs on the base SIF with read-only overlays, only the binds given, and a clean environment', () => {
    const argv = overlayExecArgv({
      sif: '/w/base.sif',
      overlays: ['/w/htslib.sqf', '/w/samtools.sqf'],
      binds: [
        { host: '/w/tmp/t', container: '/cnt/samtools/1.16.1' },
        { host: '/w/tmp/src', container: '/pharos/src', readOnly: true },
      ],
      env: { NCPUS: '2' },
      prependPath: ['/cnt/samtools/1.16.1/bin', '/cnt/htslib/1.16/bin'],
      writableTmpfs: true,
      argv: ['bash', '-c', 'install'],
    });
    expect(argv.join(' ')).toBe(
      'apptainer exec --cleanenv --contain --no-home --writable-tmpfs --overlay /w/htslib.sqf:ro --overlay /w/samtools.sqf:ro ' +
        '--bind /w/tmp/t:/cnt/samtools/1.16.1 --bind /w/tmp/src:/pharos/src:ro --env NCPUS=2 ' +
        '--env PREPEND_PATH=/cnt/samtools/1.16.1/bin:/cnt/htslib/1.16/bin /w/base.sif bash -c install',
    );
    expect(() => overlayExecArgv({ sif: 's', overlays: ['/w/a,b.sqf'], argv: [] })).toThrow(/holds ":" or ","/);
    expect(() => overlayExecArgv({ sif: 's', overlays: [], env: { A: 'x,y' }, argv: [] })).toThrow(/--env splits/);
  });

  it('converts from the archive, never from a daemon, leaving the device nodes of /dev out', () => {
    expect(buildFromArchiveArgv('/w/x.sif', '/w/image.tar', '-comp lz4')).toEqual([
      'apptainer',
      'build',
      '--force',
      '--mksquashfs-args',
      '-comp lz4 -wildcards -e dev/*',
      '/w/x.sif',
      'docker-archive:/w/image.tar',
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

/**
 * apptainer-sign.sh with the real `sh` and the real openssl. Apptainer exists only in the dev container, so a stub
 * `apptainer` on PATH records how it was called and what the key it was handed holds.
 */
describe('apptainer-sign.sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-sign-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'apptainer'), `#!/bin/sh\necho "$@" > "${dir}/apptainer-args"\ncp "$3" "${dir}/key-seen"\n`);
  chmodSync(join(bin, 'apptainer'), 0o755);
  writeFileSync(join(dir, 'passphrase'), 'correct horse');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(dir, 'plain.pem')]);
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-aes256', '-pass', `file:${join(dir, 'passphrase')}`, '-out', join(dir, 'encrypted.pem')]);

  const sign = (key: string, passphrase: string | undefined, publicKey: string) => {
    const argv = signArgv(join(dir, 'x.sif'), join(dir, key), passphrase && join(dir, passphrase), join(dir, publicKey));
    return spawnSync(argv[0], argv.slice(1), { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TMPDIR: dir }, encoding: 'utf8' });
  };
  const publicOf = (key: string, passphrase?: string) =>
    execFileSync('openssl', ['pkey', '-in', join(dir, key), ...(passphrase ? ['-passin', `file:${join(dir, passphrase)}`] : []), '-pubout'], {
      encoding: 'utf8',
    });

  it('signs with a plain key as given and writes its public half, readable by all', () => {
    const r = sign('plain.pem', undefined, 'plain.pub');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'apptainer-args'), 'utf8').trim()).toBe(`sign --key ${join(dir, 'plain.pem')} ${join(dir, 'x.sif')}`);
    expect(readFileSync(join(dir, 'plain.pub'), 'utf8')).toBe(publicOf('plain.pem'));
    expect(statSync(join(dir, 'plain.pub')).mode & 0o777).toBe(0o644);
  });

  it('decrypts an encrypted key with the passphrase file into a temporary folder it removes', () => {
    const r = sign('encrypted.pem', 'passphrase', 'encrypted.pub');
    expect(r.status, r.stderr).toBe(0);
    const keyHandedOver = readFileSync(join(dir, 'apptainer-args'), 'utf8').trim().split(' ')[2];
    expect(keyHandedOver).not.toBe(join(dir, 'encrypted.pem'));
    expect(readFileSync(join(dir, 'key-seen'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(existsSync(keyHandedOver)).toBe(false);
    expect(readFileSync(join(dir, 'encrypted.pub'), 'utf8')).toBe(publicOf('encrypted.pem', 'passphrase'));
  });

  it('fails before signing when the passphrase is wrong', () => {
    writeFileSync(join(dir, 'wrong'), 'wrong horse');
    rmSync(join(dir, 'apptainer-args'), { force: true });
    const r = sign('encrypted.pem', 'wrong', 'wrong.pub');
    expect(r.status).not.toBe(0);
    expect(existsSync(join(dir, 'apptainer-args'))).toBe(false);
  });
});
