import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PharosError } from '../../utils/errors';

/**
 * The two bearer tokens of the shared Nx cache. The read-write one goes to CI, which alone may add entries; the
 * read-only one goes to laptops, which may only restore them. A laptop's token cannot poison what CI and the rest of
 * the team restore (CVE-2025-36852, docs/shared-cache.md). Tokens live in files, never in argv or an environment value
 * this server prints, and no message here holds one.
 */

export type Role = 'read' | 'write';

export interface CacheTokens {
  read: string;
  write: string;
}

/** Short enough to paste, long enough that guessing is hopeless; what cache-tokens writes is 43 characters. */
const MIN_TOKEN_CHARS = 16;
/** What may follow `Bearer ` in a header: printable ASCII without spaces. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

const STEP = 'read the cache tokens';

/** The token in a token file (trimmed), refusing a file others may read and anything that cannot be a bearer token. */
export function readTokenFile(file: string, which: string): string {
  let mode: number;
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new PharosError(`the ${which} token file ${file} is not a file`, { step: STEP });
    mode = st.mode & 0o777;
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (err instanceof PharosError) throw err;
    throw new PharosError(`cannot read the ${which} token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      step: STEP,
      next: 'create both token files with `tools/pharos cache-tokens --read-token-file <f> --write-token-file <f>`',
    });
  }
  if (mode & 0o077)
    throw new PharosError(`the ${which} token file ${file} may be read by others (mode ${mode.toString(8).padStart(4, '0')})`, {
      step: STEP,
      next: `chmod 600 ${file}`,
    });
  if (!TOKEN_CHARS.test(text) || text.length < MIN_TOKEN_CHARS)
    throw new PharosError(`the ${which} token file ${file} does not hold a token (one word of at least ${MIN_TOKEN_CHARS} printable characters)`, {
      step: STEP,
      next: `remove it and run \`tools/pharos cache-tokens\` to write a new one`,
    });
  return text;
}

export function readCacheTokens(readTokenPath: string, writeTokenPath: string): CacheTokens {
  const tokens = { read: readTokenFile(readTokenPath, 'read-only'), write: readTokenFile(writeTokenPath, 'read-write') };
  if (tokensMatch(tokens.read, tokens.write))
    throw new PharosError(`the read-only and read-write token files hold the same token, so every reader could write`, {
      step: STEP,
      next: `remove ${readTokenPath} and run \`tools/pharos cache-tokens\` to write a new one`,
    });
  return tokens;
}

/** A new random token: 32 bytes, base64url (no character a header or a shell would mangle). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Writes a new random token into `file` (mode 0600, its folder 0700 when created) unless the file exists; true when it
 * wrote one. Never replaces a token: the clients configured with it would all lose the cache at once.
 */
export function ensureTokenFile(file: string): boolean {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${newToken()}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Compares in constant time: both sides are hashed first, so neither the length nor the first differing character of
 * the expected token shows in how long a refusal takes.
 */
export function tokensMatch(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The role an `Authorization: Bearer <token>` header grants; undefined for none, another scheme, or a wrong token. */
export function roleOf(authorization: string | undefined, tokens: CacheTokens): Role | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  const given = m?.[1] ?? '';
  // Both compared every time, so the time taken does not tell a read token from a write token.
  const write = tokensMatch(given, tokens.write);
  const read = tokensMatch(given, tokens.read);
  if (!m) return undefined;
  return write ? 'write' : read ? 'read' : undefined;
}
