import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dockerAuthConfig, registryConfig, userInAuthConfig } from './registry';

describe("the loopback registry's config", () => {
  const base = { storage: '/home/ann/.cache/pharos/registry', port: 7421, htpasswd: '/run/read.htpasswd', secret: 's3cret' };

  it('keeps everything (no deletes), listens on loopback only, and asks for htpasswd credentials', () => {
    expect(parse(registryConfig({ ...base, readOnly: false }))).toEqual({
      version: 0.1,
      log: { level: 'info', formatter: 'text' },
      storage: { filesystem: { rootdirectory: base.storage }, delete: { enabled: false } },
      http: { addr: '127.0.0.1:7421', secret: 's3cret' },
      auth: { htpasswd: { realm: 'pharos', path: '/run/read.htpasswd' } },
    });
  });

  it('makes the read-only door refuse every write, and purge nothing', () => {
    expect(parse(registryConfig({ ...base, readOnly: true })).storage.maintenance).toEqual({ readonly: { enabled: true }, uploadpurging: { enabled: false } });
  });
});

describe('credentials files (Docker config.json format)', () => {
  it('hold user:password in base64 per address, and give the user back', () => {
    const text = dockerAuthConfig(['127.0.0.1:7421', '127.0.0.1:7422'], { name: 'pharos-read', password: 'pw:with:colons' });
    expect(JSON.parse(text)).toEqual({
      auths: {
        '127.0.0.1:7421': { auth: Buffer.from('pharos-read:pw:with:colons').toString('base64') },
        '127.0.0.1:7422': { auth: Buffer.from('pharos-read:pw:with:colons').toString('base64') },
      },
    });
    expect(userInAuthConfig(text, '127.0.0.1:7422')).toEqual({ name: 'pharos-read', password: 'pw:with:colons' });
    expect(userInAuthConfig(text, '127.0.0.1:9999')).toBeUndefined();
    expect(userInAuthConfig('not json', '127.0.0.1:7421')).toBeUndefined();
  });
});
