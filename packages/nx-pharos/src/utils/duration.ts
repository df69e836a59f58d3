/**
 * Durations as people write them in configuration (`90s`, `10m`, `1h30m`), and back. Time limits are kept in
 * milliseconds; the text form is what a user wrote and what an error shows.
 */

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000 } as const;
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** What a valid duration looks like, for error messages. */
export const DURATION_EXAMPLES = 'a duration such as 90s, 10m or 1h30m';

/** Milliseconds of `text`, or undefined when it is not a positive duration of hours, minutes and seconds. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || !text.trim()) return undefined;
  const [h, min, s] = m.slice(1).map((v) => Number(v ?? 0));
  const ms = h * UNIT_MS.h + min * UNIT_MS.m + s * UNIT_MS.s;
  return ms > 0 ? ms : undefined;
}

/** `90000` → `90s`, `600000` → `10m`, `5400000` → `1h30m`: exact, in the units a person would write. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  // Under two minutes, seconds read better than "1m30s" (the way a limit such as 90s was written).
  if (!h && ms < 120_000) return `${Math.round(ms / 1000)}s`;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
