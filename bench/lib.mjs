// What every benchmark shares: the workspace, its Nx binary, an environment for repeatable runs (no daemon, no TUI,
// no cloud), and a wall-clock timer.
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..');
export const nxBin = join(root, 'node_modules/.bin/nx');
export const env = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true' };

/** Seconds `fn` takes. */
export async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/**
 * The tasks a run printed in Nx's static output (`> nx run p:t  [local cache]`), and those it ran instead of
 * restoring from a cache.
 */
export function nxTasks(out) {
  const lines = out
    .split('\n')
    .map((l) => /^> nx run (\S+)(.*)$/.exec(l.trim()))
    .filter(Boolean);
  return {
    all: lines.map((m) => m[1]),
    ran: lines.filter((m) => !/\[(local cache|existing outputs match the cache|remote cache)/.test(m[2])).map((m) => m[1]),
  };
}
