import { describe, expect, it } from 'vitest';
import { containerCwd, devContainerRunSpec } from './dev-container';
import { parseDevRunArgs } from './dev-container-cli';

const WS = '/work/ws';

describe('devContainerRunSpec', () => {
  it('maps a non-root caller, mounts the workspace at the same path, passes kvm', () => {
    const spec = devContainerRunSpec(
      'sha256:abc',
      { workspaceRoot: WS, cwd: `${WS}/x`, command: ['id', '-u'] },
      { uid: 1000, gid: 1000, user: 'ann', kvmGid: 993, dockerSocketGid: 106 },
    );
    expect(spec.binds).toEqual([`${WS}:${WS}`]);
    expect(spec.workingDir).toBe(`${WS}/x`);
    expect(spec.devices).toEqual(['/dev/kvm']);
    expect(spec.env).toEqual({ PHAROS_UID: '1000', PHAROS_GID: '1000', PHAROS_USER: 'ann', PHAROS_EXTRA_GIDS: '993' });
    expect(spec.cmd).toEqual(['id', '-u']);
  });

  it('mounts the Docker socket only when asked, and adds its group', () => {
    const host = { uid: 1000, gid: 1000, dockerSocketGid: 106 };
    expect(devContainerRunSpec('i', { workspaceRoot: WS, cwd: WS }, host).binds).not.toContain('/var/run/docker.sock:/var/run/docker.sock');
    const spec = devContainerRunSpec('i', { workspaceRoot: WS, cwd: WS, dockerSocket: true }, host);
    expect(spec.binds).toContain('/var/run/docker.sock:/var/run/docker.sock');
    expect(spec.env?.PHAROS_EXTRA_GIDS).toBe('106');
  });

  it('runs root as root, gives fuse with seccomp unconfined, and defaults to a login shell', () => {
    const spec = devContainerRunSpec('i', { workspaceRoot: WS, cwd: WS, fuse: true }, { uid: 0, gid: 0 });
    expect(spec.env).toEqual({});
    expect(spec.devices).toEqual(['/dev/fuse']);
    expect(spec.securityOpt).toEqual(['seccomp=unconfined']);
    expect(spec.cmd).toEqual(['bash', '-l']);
  });

  it('gives a .def build its subordinate ids and an unmasked /proc, never privilege', () => {
    const spec = devContainerRunSpec(
      'i',
      { workspaceRoot: WS, cwd: WS, fuse: true, userNamespaceBuild: { subordinateIds: `${WS}/tmp/s/subid` } },
      { uid: 0, gid: 0 },
    );
    expect(spec.binds).toEqual([`${WS}:${WS}`, `${WS}/tmp/s/subid:/etc/subuid:ro`, `${WS}/tmp/s/subid:/etc/subgid:ro`]);
    expect(spec.securityOpt).toEqual(['seccomp=unconfined']);
    expect(spec.unmaskedProc).toBe(true);
    expect(devContainerRunSpec('i', { workspaceRoot: WS, cwd: WS, fuse: true }, { uid: 0, gid: 0 }).unmaskedProc).toBeUndefined();
    expect(JSON.stringify(spec)).not.toMatch(/privileged|CapAdd|SYS_ADMIN/i);
  });

  it("binds this machine's store at its own path, read-only unless asked, and tells Pharos inside where it is", () => {
    const host = { uid: 1000, gid: 1000, store: '/home/ann/.cache/pharos/store' };
    const tool = devContainerRunSpec('i', { workspaceRoot: WS, cwd: WS }, host);
    expect(tool.binds).toEqual([`${WS}:${WS}`, `${host.store}:${host.store}:ro`]);
    expect(tool.env?.PHAROS_STORE).toBe(host.store);
    const shell = devContainerRunSpec('i', { workspaceRoot: WS, cwd: WS, storeWritable: true }, host);
    expect(shell.binds).toEqual([`${WS}:${WS}`, `${host.store}:${host.store}`]);
  });

  it('keeps a cwd inside the workspace and falls back to its root', () => {
    expect(containerCwd(WS, `${WS}/a/b`)).toBe(`${WS}/a/b`);
    expect(containerCwd(WS, '/tmp')).toBe(WS);
  });
});

describe('parseDevRunArgs', () => {
  it('separates options from the command', () => {
    expect(parseDevRunArgs(['--docker', '-e', 'A=1', 'make', '-j2'])).toMatchObject({ docker: true, env: { A: '1' }, command: ['make', '-j2'] });
    expect(parseDevRunArgs(['--', '--docker'])).toMatchObject({ docker: false, command: ['--docker'] });
    expect(parseDevRunArgs([])).toMatchObject({ command: [], build: true });
    expect(() => parseDevRunArgs(['--bogus'])).toThrow(/unknown option --bogus/);
    expect(() => parseDevRunArgs(['-e', 'novalue'])).toThrow(/NAME=VALUE/);
  });
});
