import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PharosError } from './errors';

/** The sha256 of a file, streamed (image archives are over a gigabyte). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash as unknown as Writable);
  return hash.digest('hex');
}

/**
 * A product file is the one its manifest describes (a truncated copy or a bad cache restore is not): an error naming
 * the file, both digests and the command that rebuilds it otherwise.
 */
export async function assertFileDigest(path: string, expected: string, described: { what: string; shown: string; rebuild: string }): Promise<void> {
  const actual = await sha256File(path).catch(() => 'missing');
  if (actual !== expected) {
    throw new PharosError(`${described.what} has sha256 ${actual}, its manifest says ${expected}`, {
      file: described.shown,
      next: `rebuild it: ${described.rebuild}`,
    });
  }
}
