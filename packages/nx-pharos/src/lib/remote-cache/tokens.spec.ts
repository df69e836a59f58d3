import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureTokenFile, readCacheTokens, readTokenFile, roleOf, tokensMatch } from './tokens';

const READ = 'r'.repeat(20);
const WRITE = 'w'.repeat(20);

describe('cache tokens', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pharos-tokens-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const tokenFile = (name: string, text: string, mode = 0o600) => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode });
    chmodSync(file, mode);
    return file;
  };

  it('writes a random token, mode 0600, only where none exists, and never replaces one', () => {
    const file = join(dir, 'sub', 'write-token');
    expect(ensureTokenFile(file)).toBe(true);
    const token = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
    expect(token.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ensureTokenFile(file)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(token);
    expect(ensureTokenFile(join(dir, 'other'))).toBe(true);
    expect(readFileSync(join(dir, 'other'), 'utf8')).not.toBe(token);
  });

  it('reads a token file, trimmed', () => {
    expect(readTokenFile(tokenFile('t', `  ${READ}\n`), 'read-only')).toBe(READ);
  });

  it('refuses a token file others may read, a missing one and one without a token, and never shows its content', () => {
    const open = tokenFile('open', READ, 0o644);
    expect(() => readTokenFile(open, 'read-only')).toThrow(/may be read by others \(mode 0644\)/);
    expect(() => readTokenFile(join(dir, 'missing'), 'read-only')).toThrow(/cannot read the read-only token file .*ENOENT/);
    for (const bad of ['', 'short', 'two words here and there', 'x'.repeat(15)]) {
      const file = tokenFile(`bad-${bad.length}`, bad);
      expect(() => readTokenFile(file, 'read-write')).toThrow(/does not hold a token/);
      try {
        readTokenFile(file, 'read-write');
      } catch (err) {
        if (bad) expect((err as Error).message).not.toContain(bad);
      }
    }
    expect(() => readTokenFile(dir, 'read-only')).toThrow(/is not a file/);
  });

  it('refuses the same token for reading and writing: every reader could write', () => {
    expect(() => readCacheTokens(tokenFile('a', READ), tokenFile('b', READ))).toThrow(/hold the same token/);
    expect(readCacheTokens(tokenFile('r', READ), tokenFile('w', WRITE))).toEqual({ read: READ, write: WRITE });
  });

  it('grants the role of the bearer token, and none for any other header', () => {
    const tokens = { read: READ, write: WRITE };
    expect(roleOf(`Bearer ${WRITE}`, tokens)).toBe('write');
    expect(roleOf(`bearer ${READ}`, tokens)).toBe('read');
    expect(roleOf(`Bearer  ${READ} `, tokens)).toBe('read');
    for (const header of [undefined, '', 'Bearer', `Bearer ${READ}x`, `Basic ${READ}`, READ, `Bearer ${READ} ${WRITE}`, `Bearer ${READ.slice(1)}`])
      expect(roleOf(header, tokens), String(header)).toBeUndefined();
    expect(tokensMatch(READ, READ)).toBe(true);
    expect(tokensMatch(READ, `${READ}r`)).toBe(false);
  });
});
