import { createWriteStream, type ReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { temporarySibling } from '../../utils/atomic-file';
import { treeOwner } from '../../utils/leftovers';
import { pidIsAlive } from '../../utils/pid';

/**
 * The shared Nx cache's entries, one file per task hash (`<dir>/<hash>`), as Nx uploads them: a tar archive of the
 * task's outputs and terminal output.
 *
 * On disk rather than in the team registry: an entry is an opaque blob Nx only ever puts once and gets whole by its
 * hash, which a file named by that hash does in O(1) with nothing to run, index or garbage-collect, where the registry
 * would need a manifest and a tag per entry. The entries stay small because the big products (images, SIFs, qcow2s)
 * are links into the content-addressed store, so Nx archives the link, not the gigabytes.
 *
 * An entry appears whole or not at all: it is written to a temporary file beside it, flushed to disk, then hard-linked
 * to its name, which fails when the name exists, so of two uploads of one hash exactly one wins and a reader never
 * sees a partial file. A temporary file's name holds its owner's pid (utils/leftovers.ts): what a killed server left
 * is removed when the next one starts.
 */

export type PutOutcome = 'stored' | 'exists' | 'uploading' | 'too-large';

export interface StoredEntry {
  size: number;
  stream: ReadStream;
}

export interface EntryStore {
  readonly dir: string;
  has(hash: string): Promise<boolean>;
  /** The entry's size and a stream of it; undefined when there is none. */
  read(hash: string): Promise<StoredEntry | undefined>;
  /**
   * Stores `body` as the entry of `hash` unless it exists or is being uploaded. Over `maxBytes` it stops reading and
   * stores nothing ('too-large'): the rest of `body` is the caller's to discard. Rejects when `body` fails or ends early
   * (the client went away), storing nothing.
   */
  put(hash: string, body: Readable, maxBytes: number): Promise<{ outcome: PutOutcome; bytes: number }>;
}

class EntryTooLarge extends Error {}

/** Opens the store in `dir` (created if missing), after removing the temporary files of servers that have ended. */
export async function openEntryStore(dir: string, isAlive: (pid: number) => boolean = pidIsAlive): Promise<{ store: EntryStore; removed: string[] }> {
  await mkdir(dir, { recursive: true });
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const owner = name.startsWith('.') ? treeOwner(name) : undefined;
    if (owner === undefined || owner === process.pid || isAlive(owner)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return { store: entryStore(dir), removed };
}

function entryStore(dir: string): EntryStore {
  const uploading = new Set<string>();
  const path = (hash: string) => join(dir, hash);
  const has = async (hash: string) => {
    try {
      return (await stat(path(hash))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  };
  return {
    dir,
    has,
    async read(hash) {
      let fh;
      try {
        fh = await open(path(hash), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return undefined;
      }
      // When it was last restored, so an operator can prune what nobody has used for a while (find -atime).
      utimes(path(hash), new Date(), st.mtime).catch(() => undefined);
      return { size: st.size, stream: fh.createReadStream() };
    },
    async put(hash, body, maxBytes) {
      // Reserved before the first await, so two uploads arriving together cannot both pass.
      if (uploading.has(hash)) return { outcome: 'uploading', bytes: 0 };
      uploading.add(hash);
      const dest = path(hash);
      const tmp = temporarySibling(dest);
      try {
        if (await has(hash)) return { outcome: 'exists', bytes: 0 };
        const { complete, bytes } = await receive(body, tmp, maxBytes);
        if (!complete) return { outcome: 'too-large', bytes };
        try {
          await link(tmp, dest);
        } catch (err) {
          // Another server on the same folder stored it meanwhile: the same hash, so the same entry.
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { outcome: 'exists', bytes };
          throw err;
        }
        return { outcome: 'stored', bytes };
      } finally {
        uploading.delete(hash);
        await rm(tmp, { force: true });
      }
    },
  };
}

/**
 * Streams `body` into a new file `tmp`, flushed to disk before it resolves; never holds more than a chunk in memory.
 * A body is piped rather than handed to pipeline(), which would destroy it, and with it the connection the caller
 * still has to answer 413 on.
 */
async function receive(body: Readable, tmp: string, maxBytes: number): Promise<{ complete: boolean; bytes: number }> {
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      done(size > maxBytes ? new EntryTooLarge() : null, chunk);
    },
  });
  const endedEarly = () => {
    if (!body.readableEnded) limit.destroy(new Error('the upload ended before its last byte'));
  };
  const failed = (err: Error) => limit.destroy(err);
  body.once('error', failed);
  body.once('close', endedEarly);
  body.pipe(limit);
  try {
    await pipeline(limit, createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true }));
    return { complete: true, bytes: size };
  } catch (err) {
    if (err instanceof EntryTooLarge) return { complete: false, bytes: size };
    throw err;
  } finally {
    body.unpipe(limit);
    body.off('error', failed);
    body.off('close', endedEarly);
  }
}
