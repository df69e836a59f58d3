import { readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, visit, type Scalar } from 'yaml';
import { parseYamlText } from '../definitions/validate';
import { writeAtomically } from '../utils/atomic-file';

/**
 * The source cache's layout. `<file>` is the copy fetch uses, once its sha256 matches the pin. A copy that does not
 * match is never used and never deleted: it is kept beside it as `<file>.sha256-<its digest>`, where fetch looks when
 * a pin names that digest, so that fixing a mistyped pin needs no network. `<file>.verified` records every digest a
 * copy of `<file>` matched, and when: a file that matched before blames the pin, a file that never did blames itself.
 */

const KEPT_INFIX = '.sha256-';

/** Where a copy of `file` whose digest is `sha256` is kept when that is not the pinned digest. */
export function keptName(file: string, sha256: string): string {
  return `${file}${KEPT_INFIX}${sha256}`;
}

/**
 * Moves a copy that does not match its pin to the name its content gives it. A copy already there has the same
 * digest, so replacing it loses nothing.
 */
export async function keepAside(cacheDir: string, file: string, path: string, sha256: string): Promise<string> {
  const kept = join(cacheDir, keptName(file, sha256));
  if (path !== kept) await rename(path, kept);
  return kept;
}

/** The digests of the copies of `file` kept in the cache, read from their names. */
export function keptDigests(cacheDir: string, file: string): string[] {
  const prefix = `${file}${KEPT_INFIX}`;
  return readdirSync(cacheDir)
    .filter((name) => name.startsWith(prefix) && /^[0-9a-f]{64}$/.test(name.slice(prefix.length)))
    .map((name) => name.slice(prefix.length));
}

const verifiedFile = (cacheDir: string, file: string) => join(cacheDir, `${file}.verified`);

/** Digest → when a copy of `file` last matched it (ISO time). A missing or unreadable record is an empty one. */
export function verifiedDigests(cacheDir: string, file: string): Record<string, string> {
  try {
    const matched = (JSON.parse(readFileSync(verifiedFile(cacheDir, file), 'utf8')) as { matched?: unknown }).matched;
    if (!matched || typeof matched !== 'object') return {};
    return Object.fromEntries(Object.entries(matched).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

export async function recordVerified(cacheDir: string, file: string, sha256: string, at: Date): Promise<void> {
  const matched = { ...verifiedDigests(cacheDir, file), [sha256]: at.toISOString() };
  await writeAtomically(verifiedFile(cacheDir, file), (tmp) => writeFile(tmp, `${JSON.stringify({ file, matched }, null, 2)}\n`));
}

/**
 * Which of two parties a mismatch most likely comes from: a copy that matched `actual` before means the pin changed
 * since; a copy that never matched anything here was truncated or replaced.
 */
export function mismatchVerdict(actual: string, pin: string, matchedAt: string | undefined): string {
  if (matchedAt) return `the pin is likely wrong (this file matched sha256 ${actual} on ${matchedAt.slice(0, 10)}; the pin says ${pin})`;
  return `the file is likely bad, e.g. a truncated or replaced download (its sha256 ${actual} never matched a pin in this cache; the pin says ${pin})`;
}

const scalarValue = (node: unknown): unknown => (isScalar(node) ? node.value : undefined);

/**
 * The line of a YAML text that pins `file` to `digest`: a source entry's `sha256:` (whose `file:`, or `url:` ending
 * in the file name, names it), or a site's `pins:` entry `<file>: <digest>`. Several versions may pin one digest
 * under other names, so the line of the first mention of the digest is only the fallback.
 */
export function pinLine(text: string, file: string, digest: string): number | undefined {
  let found: number | undefined;
  try {
    const { doc, lines } = parseYamlText(text, ''); // its errors are caught below
    visit(doc, {
      Pair(_, pair, path) {
        if (scalarValue(pair.value) !== digest) return undefined;
        const key = scalarValue(pair.key);
        const entry = path[path.length - 1];
        const names = (name: unknown) => name === file || (typeof name === 'string' && name.endsWith(`/${file}`));
        if (key === file || (key === 'sha256' && isMap(entry) && (names(entry.get('file')) || names(entry.get('url'))))) {
          const offset = (pair.value as Scalar).range?.[0];
          if (offset !== undefined) found = lines.linePos(offset).line;
          return visit.BREAK;
        }
        return undefined;
      },
    });
  } catch {
    // An unparsable file has no structure to go by; the plain search below still finds the digest.
  }
  if (found !== undefined) return found;
  const index = text.split('\n').findIndex((line) => line.includes(digest));
  return index >= 0 ? index + 1 : undefined;
}

/** The first of `files` that pins `file` to `digest`, with its line: where a person edits the pin. */
export function pinLocation(file: string, digest: string, files: string[]): { file: string; line: number } | undefined {
  for (const path of files) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue; // a message must not fail for want of a line number
    }
    const line = pinLine(text, file, digest);
    if (line !== undefined) return { file: path, line };
  }
  return undefined;
}
