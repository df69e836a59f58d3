import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureOf } from '../../testing/failure';
import { DEFAULT_REGISTRY, teamStoreEnv, teamStoreSettings } from './settings';

const home = mkdtempSync(join(tmpdir(), 'pharos-team-settings-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function credentials(file: string, mode = 0o600): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, '{"auths":{}}');
  chmodSync(file, mode);
  return file;
}

describe('the team store settings', () => {
  it('default to the loopback read-only door, read-only, with no credentials file until setup writes one', () => {
    expect(DEFAULT_REGISTRY).toBe('127.0.0.1:7421');
    expect(teamStoreSettings({}, home)).toEqual({ access: { address: '127.0.0.1:7421', insecure: false }, push: false });
    const written = credentials(join(home, '.config/pharos/registry/auth.json'));
    expect(teamStoreSettings({}, home)?.access.authFile).toBe(written);
  });

  it('take the registry, the credentials file, pushing and plain HTTP from the environment; off means none', () => {
    const file = credentials(join(home, 'ci/auth-write.json'));
    const env = { PHAROS_REGISTRY: 'registry.example.org:5000/', PHAROS_REGISTRY_AUTH_FILE: file, PHAROS_REGISTRY_PUSH: '1', PHAROS_REGISTRY_INSECURE: '1' };
    expect(teamStoreSettings(env, home)).toEqual({ access: { address: 'registry.example.org:5000', authFile: file, insecure: true }, push: true });
    expect(teamStoreSettings({ PHAROS_REGISTRY: 'off' }, home)).toBeUndefined();
    expect(teamStoreSettings({ PHAROS_REGISTRY: '[::1]:7421' }, home)?.access.address).toBe('[::1]:7421');
  });

  it('refuse an address with a scheme or a path, a named file that is missing, and a file others may read', async () => {
    expect((await failureOf(() => teamStoreSettings({ PHAROS_REGISTRY: 'http://127.0.0.1:7421' }, home))).format()).toContain('no http://');
    expect((await failureOf(() => teamStoreSettings({ PHAROS_REGISTRY: 'reg.example.org/pharos' }, home))).message).toContain('is not a registry address');
    const missing = await failureOf(() => teamStoreSettings({ PHAROS_REGISTRY_AUTH_FILE: join(home, 'none.json') }, home));
    expect(missing.message).toContain(`cannot read the registry credentials file ${join(home, 'none.json')} (PHAROS_REGISTRY_AUTH_FILE): ENOENT`);
    expect((await failureOf(() => teamStoreSettings({ PHAROS_REGISTRY_AUTH_FILE: 'auth.json' }, home))).message).toContain('not an absolute path');
    const open = credentials(join(home, 'open/auth.json'), 0o644);
    const err = await failureOf(() => teamStoreSettings({ PHAROS_REGISTRY_AUTH_FILE: open }, home));
    expect(err.message).toContain('may be read by others (mode 0644)');
    expect(err.details.next).toBe(`chmod 600 ${open}`);
  });
});

describe('the team store variables a Slurm job gets', () => {
  it('are the ones this side sets, as set', () => {
    expect(
      teamStoreEnv({
        PHAROS_REGISTRY: '127.0.0.1:7422',
        PHAROS_REGISTRY_PUSH: '1',
        PHAROS_REGISTRY_AUTH_FILE: ' /ci/auth-write.json ',
        PATH: '/bin',
        PHAROS_REGISTRY_INSECURE: '',
      }),
    ).toEqual({
      PHAROS_REGISTRY: '127.0.0.1:7422',
      PHAROS_REGISTRY_PUSH: '1',
      PHAROS_REGISTRY_AUTH_FILE: '/ci/auth-write.json',
    });
    expect(teamStoreEnv({})).toEqual({});
  });
});
