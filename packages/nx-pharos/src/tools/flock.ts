import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { PharosError } from '../utils/errors';

/**
 * flock(1) from util-linux, for the advisory locks that other programs on the node (and on a cluster filesystem that
 * passes flock(2) on, as NFSv4 and BeeGFS do) can see: Node has no flock(2). A lock lives in a small `sh` that opens
 * the file, locks it and then reads its stdin until it ends, so it dies with this process however this process ends
 * (kill -9 included): the pipe closes, `cat` sees the end, the shell exits and the kernel drops the lock.
 *
 * The file is opened with `<`, never created: flock(1)'s own `flock <file> <command>` form would create an empty file
 * where a product is missing. Once locked, the shell checks that the file it holds is still the one at the path
 * (`-ef`): a holder that waited while an update renamed a new file over the old one would otherwise hold the old,
 * unlinked file and protect nothing.
 */
const HOLDER = `file=$1
shift
command exec 9<"$file" 2>/dev/null || exit 3
flock "$@" 9 || exit $?
[ /dev/fd/9 -ef "$file" ] || exit 4
echo locked
cat >/dev/null`;

const EXIT = { busy: 1, absent: 3, replaced: 4, noFlock: 127 } as const;
/** A file replaced again and again while we wait is not settling; give up rather than spin. */
const MAX_REPLACED = 5;
const WAIT_NOTICE_MS = 2000;

export type FlockMode = 'shared' | 'exclusive';

export interface HeldFlock {
  file: string;
  mode: FlockMode;
  /** Ends the lock (closes the holder's stdin and waits for it to exit). */
  release: () => Promise<void>;
}

export interface FlockOptions {
  /** Wait for a conflicting lock to go (default); false: return 'busy' at once. */
  wait?: boolean;
  /** Called once when the lock is not had within a moment, so a person knows what the run waits for. */
  onWait?: (file: string) => void;
}

function flagsOf(mode: FlockMode, wait: boolean): string[] {
  return [mode === 'shared' ? '--shared' : '--exclusive', ...(wait ? [] : ['--nonblock'])];
}

function noFlock(): PharosError {
  return new PharosError('flock(1) is not on PATH', {
    step: 'lock an overlay',
    next: 'install util-linux (it provides flock), or put its bin folder on PATH',
  });
}

/** One attempt: the holder once it says `locked`, or the exit code it ended with. */
type Attempt = { holder: ChildProcessWithoutNullStreams } | { code: number; stderr: string };

function attempt(file: string, flags: string[], onWait?: (file: string) => void): Promise<Attempt> {
  // Its own process group: a Ctrl-C at the terminal must not end the lock before our cleanup has stopped what uses it.
  const child = spawn('sh', ['-c', HOLDER, 'pharos-flock', file, ...flags], { stdio: 'pipe', detached: true });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const notice = onWait ? setTimeout(() => onWait(file), WAIT_NOTICE_MS) : undefined;
    const done = () => clearTimeout(notice);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('locked\n')) {
        done();
        resolve({ holder: child });
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      done();
      reject(err);
    });
    child.on('exit', (code, signal) => {
      done();
      resolve({ code: code ?? 128, stderr: stderr.trim() || (signal ? `ended by ${signal}` : '') });
    });
  });
}

/**
 * Takes a lock on `file` and holds it until release() or the end of this process. 'busy': another holds a
 * conflicting lock and `wait` is false; 'absent': there is no such file.
 */
export async function holdFlock(file: string, mode: FlockMode, options: FlockOptions = {}): Promise<HeldFlock | 'busy' | 'absent'> {
  const wait = options.wait ?? true;
  for (let tries = 0; ; tries++) {
    const r = await attempt(file, flagsOf(mode, wait), options.onWait);
    if ('holder' in r) {
      const { holder } = r;
      const exited = new Promise<void>((resolve) => (holder.exitCode !== null ? resolve() : holder.once('exit', () => resolve())));
      // Held until released or until this process ends: neither the holder nor its pipes keep Node running.
      holder.unref();
      for (const s of [holder.stdin, holder.stdout, holder.stderr] as unknown as Array<{ unref?: () => void }>) s.unref?.();
      return {
        file,
        mode,
        release: async () => {
          // Referenced again while we wait for it to go: with nothing else to do, Node would otherwise end the process
          // with the wait pending, skipping whatever follows the release (an exit code, a cleanup).
          holder.ref();
          holder.stdin.end();
          await exited;
        },
      };
    }
    if (r.code === EXIT.busy && !wait) return 'busy';
    if (r.code === EXIT.absent) return 'absent';
    if (r.code === EXIT.noFlock) throw noFlock();
    if (r.code === EXIT.replaced && tries < MAX_REPLACED) continue;
    throw new PharosError(`could not take a ${mode} lock on ${file} (exit code ${r.code}${r.stderr ? `: ${r.stderr}` : ''})`, {
      step: 'lock an overlay',
      next: r.code === EXIT.replaced ? 'the file keeps being replaced; wait for the update that writes it to finish, then run again' : undefined,
    });
  }
}

/**
 * Holds a shared lock on each file, waiting out an exclusive holder (an update renaming a new file into place), for as
 * long as something uses them. A missing file is an error naming it; nothing stays locked when one fails.
 */
export async function holdSharedFlocks(files: string[], onWait?: (file: string) => void): Promise<() => Promise<void>> {
  const held: HeldFlock[] = [];
  const releaseAll = async () => {
    await Promise.all(held.splice(0).map((h) => h.release()));
  };
  try {
    for (const file of files) {
      const h = await holdFlock(file, 'shared', { onWait });
      if (h === 'absent') throw new PharosError(`cannot lock ${file}: there is no such file`, { step: 'lock an overlay' });
      held.push(h as HeldFlock);
    }
  } catch (err) {
    await releaseAll();
    throw err;
  }
  return releaseAll;
}

/**
 * Whether anyone holds a lock on `file`, without waiting (`flock --nonblock --exclusive`): 'held' (a shared or
 * exclusive holder), 'free' or 'absent'. A one-off look: nothing is held afterwards.
 */
export async function probeFlock(file: string): Promise<'free' | 'held' | 'absent'> {
  const r = await holdFlock(file, 'exclusive', { wait: false });
  if (r === 'busy') return 'held';
  if (r === 'absent') return 'absent';
  await r.release();
  return 'free';
}
