/**
 * Sizes as people write them in options (`512M`, `2G`, `100KiB`, `1048576`): binary units, as `du -h` and Docker
 * print them, so a limit of `1G` admits exactly a 1 GiB file.
 */

const UNIT = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 } as const;
// The `i` of KiB only after a unit: `8iB` is no size.
const SIZE = /^(\d+)\s*(?:([KMGT])i?)?B?$/i;

/** What a valid size looks like, for error messages. */
export const BYTE_SIZE_EXAMPLES = 'a size such as 512M, 2G, 100KiB or 1048576 (bytes)';

/** Bytes of `text`, or undefined when it is not a positive whole number of bytes, KiB, MiB, GiB or TiB. */
export function parseByteSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNIT[(m[2] ?? '').toUpperCase() as keyof typeof UNIT];
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `1417216` → `1.4 MiB`: binary units, one decimal from KiB up. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
