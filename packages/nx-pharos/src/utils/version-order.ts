/**
 * Version ordering as `sort -V` and dpkg see it, so that 1.9 < 1.10 < 1.21 and 1.0~rc1 < 1.0: a version is read as
 * alternating runs of non-digits and digits; digit runs compare as numbers, other runs character by character with
 * letters before every other character and `~` before anything, even the end of the string. GNU sort's extra rule
 * for file suffixes (`.tar.gz`) is left out: these are versions, not file names.
 */

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** Negative when a sorts before b, positive after, 0 only for the same string. */
export function compareVersions(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = isDigit(a[i]) ? 0 : order(a[i]);
      const bc = isDigit(b[j]) ? 0 : order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  // Equal by the rules above but spelled differently (1.01 and 1.1): a fixed order, so sorting is stable across runs.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ascending, oldest first; a new array. */
export function sortVersions(versions: readonly string[]): string[] {
  return [...versions].sort(compareVersions);
}
