import { describe, expect, it } from 'vitest';
import {
  classifySkopeoFailure,
  inspectRawArgv,
  isLoopback,
  pullArgv,
  pushArchiveArgv,
  pushArgv,
  retagArgv,
  skopeoEnv,
  skopeoError,
  type FailureContext,
} from './skopeo';

const HEX = 'ab'.padEnd(64, '0');
const M = `sha256:${'cd'.padEnd(64, '0')}`;

/** What skopeo 1.9.3 printed against docker-registry 2.8.2, measured (session 24 and this change). */
const fatal = (msg: string) => `time="2026-11-29T15:35:10Z" level=fatal msg="${msg}"\n`;
const MEASURED = {
  tampered: fatal(`writing blob: happened during read: Digest did not match, expected sha256:${HEX}, got sha256:a106`),
  readOnly: fatal('writing manifest: uploading manifest x1 to 127.0.0.1:17422/pharos/store: StatusCode: 405, Method not allowed\\n'),
  unauthorizedPush: fatal(
    `trying to reuse blob sha256:${HEX} at destination: checking whether a blob sha256:${HEX} exists in 127.0.0.1:17421/pharos/store: unauthorized: authentication required`,
  ),
  unauthorizedPull: fatal(
    `initializing source docker://127.0.0.1:17421/pharos/store@${M}: reading manifest ${M} in 127.0.0.1:17421/pharos/store: unauthorized: authentication required`,
  ),
  missing: fatal(
    `initializing source docker://127.0.0.1:17421/pharos/other@${M}: reading manifest ${M} in 127.0.0.1:17421/pharos/other: manifest unknown: manifest unknown`,
  ),
};

describe('skopeo argv', () => {
  const local = { address: '127.0.0.1:7421', authFile: '/home/ann/.config/pharos/registry/auth.json' };

  it('pushes an OCI layout by its ref name to a tag, once, quietly, over plain HTTP only on loopback', () => {
    expect(pushArgv('/s/.push', 'blob', local, 'pharos/store', `sha256-${HEX}`)).toEqual([
      'copy',
      '--quiet',
      '--retry-times',
      '0',
      '--dest-tls-verify=false',
      'oci:/s/.push:blob',
      `docker://127.0.0.1:7421/pharos/store:sha256-${HEX}`,
    ]);
    expect(pushArgv('/l', 'blob', { address: 'registry.example.org:5000' }, 'pharos/store', 't')).toContain('--dest-tls-verify=true');
    expect(pushArgv('/l', 'blob', { address: 'registry.example.org:5000', insecure: true }, 'pharos/store', 't')).toContain('--dest-tls-verify=false');
  });

  it('pulls by digest, never by tag, into an OCI layout', () => {
    const argv = pullArgv(local, 'pharos/store', M, '/s/.fetch', 'x');
    expect(argv).toEqual(['copy', '--quiet', '--retry-times', '0', '--src-tls-verify=false', `docker://127.0.0.1:7421/pharos/store@${M}`, 'oci:/s/.fetch:x']);
    expect(pullArgv({ address: 'reg.example.org' }, 'pharos/store', M, '/l', 'x')).toContain('--src-tls-verify=true');
    expect(inspectRawArgv(local, 'pharos/store', `sha256-${HEX}`)).toEqual([
      'inspect',
      '--raw',
      '--retry-times',
      '0',
      '--tls-verify=false',
      `docker://127.0.0.1:7421/pharos/store:sha256-${HEX}`,
    ]);
  });

  it('pushes a docker-archive as an image, writing the digest, and retags that manifest byte for byte', () => {
    expect(pushArchiveArgv('/w/dist/image.tar', local, 'pharos/images/openmpi', 'latest', '/tmp/d/digest')).toEqual([
      'copy',
      '--digestfile',
      '/tmp/d/digest',
      '--quiet',
      '--retry-times',
      '0',
      '--dest-tls-verify=false',
      'docker-archive:/w/dist/image.tar',
      'docker://127.0.0.1:7421/pharos/images/openmpi:latest',
    ]);
    expect(retagArgv(local, 'pharos/images/openmpi', M, `archive-${HEX}`)).toEqual([
      'copy',
      '--quiet',
      '--retry-times',
      '0',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://127.0.0.1:7421/pharos/images/openmpi@${M}`,
      `docker://127.0.0.1:7421/pharos/images/openmpi:archive-${HEX}`,
    ]);
    expect(retagArgv({ address: 'reg.example.org' }, 'r', M, 't').filter((a) => a.includes('tls'))).toEqual([
      '--src-tls-verify=true',
      '--dest-tls-verify=true',
    ]);
  });

  it('never holds a credential: the credentials file goes in REGISTRY_AUTH_FILE', () => {
    for (const argv of [
      pushArgv('/l', 'blob', local, 'r', 't'),
      pullArgv(local, 'r', M, '/l', 'x'),
      inspectRawArgv(local, 'r', 't'),
      pushArchiveArgv('/a', local, 'r', 't', '/d'),
      retagArgv(local, 'r', M, 't'),
    ]) {
      expect(argv.join(' ')).not.toMatch(/auth|cred|password/i);
    }
    expect(skopeoEnv(local, { PATH: '/bin' })).toEqual({ PATH: '/bin', REGISTRY_AUTH_FILE: local.authFile });
    expect(skopeoEnv({ address: 'x' }, { PATH: '/bin' })).toEqual({ PATH: '/bin' });
  });

  it('counts 127.0.0.0/8, ::1 and localhost as loopback, with or without a port', () => {
    for (const a of ['127.0.0.1:7421', '127.1.2.3', 'localhost:5000', '[::1]:7421', 'LOCALHOST']) expect(isLoopback(a)).toBe(true);
    for (const a of ['10.0.0.1:7421', 'registry.example.org', '127.0.0.1.example.org:1', '[fe80::1]:5000']) expect(isLoopback(a)).toBe(false);
  });
});

describe("reading skopeo's failures", () => {
  it('tells each measured failure apart', () => {
    expect(classifySkopeoFailure(MEASURED.tampered)).toEqual({ kind: 'tampered', detail: expect.stringContaining('Digest did not match') });
    expect(classifySkopeoFailure(MEASURED.readOnly).kind).toBe('read-only');
    expect(classifySkopeoFailure(MEASURED.readOnly).detail).toBe(
      'writing manifest: uploading manifest x1 to 127.0.0.1:17422/pharos/store: StatusCode: 405, Method not allowed',
    );
    expect(classifySkopeoFailure(MEASURED.unauthorizedPush).kind).toBe('unauthorized');
    expect(classifySkopeoFailure(MEASURED.unauthorizedPull).kind).toBe('unauthorized');
    expect(classifySkopeoFailure(MEASURED.missing).kind).toBe('missing');
  });

  it('tells a registry that never answered from one that stopped during the transfer', () => {
    const refused = fatal(
      `initializing source docker://127.0.0.1:7421/pharos/store@${M}: pinging container registry 127.0.0.1:7421: Get \\"http://127.0.0.1:7421/v2/\\": dial tcp 127.0.0.1:7421: connect: connection refused`,
    );
    expect(classifySkopeoFailure(refused).kind).toBe('unreachable');
    const refusedInspect = fatal(
      `Error parsing image name \\"docker://127.0.0.1:1/pharos/store:x\\": pinging container registry 127.0.0.1:1: Get \\"http://127.0.0.1:1/v2/\\": dial tcp 127.0.0.1:1: connect: connection refused`,
    );
    expect(classifySkopeoFailure(refusedInspect).kind).toBe('unreachable');
    expect(classifySkopeoFailure(fatal(`writing blob: happened during read: unexpected EOF`)).kind).toBe('interrupted');
    expect(
      classifySkopeoFailure(
        fatal(`writing blob: fetching blob: Get \\"http://127.0.0.1:7421/v2/pharos/store/blobs/${M}\\": dial tcp: connect: connection refused`),
      ).kind,
    ).toBe('interrupted');
    expect(classifySkopeoFailure('something else entirely\n').kind).toBe('other');
  });
});

describe('the errors a failed push or pull gives', () => {
  const ctx: FailureContext = {
    registry: '127.0.0.1:7421',
    blob: `sha256:${HEX}`,
    authFile: '/home/ann/.config/pharos/registry/auth.json',
    pushVariable: 'PHAROS_REGISTRY_PUSH',
    authVariable: 'PHAROS_REGISTRY_AUTH_FILE',
  };

  it('names the registry, the digest and a next step, and says nothing was kept', () => {
    const tampered = skopeoError('pull', classifySkopeoFailure(MEASURED.tampered), ctx).format();
    expect(tampered).toContain(`fetching blob sha256:${HEX} from the team store 127.0.0.1:7421`);
    expect(tampered).toContain('Digest did not match');
    expect(tampered).toContain('nothing was kept');
    expect(tampered).toMatch(/next: tell whoever runs 127\.0\.0\.1:7421/);
    const cut = skopeoError('pull', { kind: 'interrupted', detail: 'unexpected EOF' }, ctx).format();
    expect(cut).toContain('the connection ended before the whole blob arrived');
    expect(cut).toContain('run the same command again');
  });

  it('on a refused push, names the variable to unset and the credentials file, never what it holds', () => {
    const refused = skopeoError('push', classifySkopeoFailure(MEASURED.unauthorizedPush), ctx).format();
    expect(refused).toContain('401 unauthorized');
    expect(refused).toContain(`the credentials in ${ctx.authFile} (PHAROS_REGISTRY_AUTH_FILE)`);
    expect(refused).toContain('unset PHAROS_REGISTRY_PUSH');
    const readOnly = skopeoError('push', classifySkopeoFailure(MEASURED.readOnly), ctx).format();
    expect(readOnly).toContain('refused the write');
    expect(readOnly).toContain('unset PHAROS_REGISTRY_PUSH');
  });
});
