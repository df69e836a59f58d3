import { join } from 'node:path';

/**
 * Making an autotools install tree relocatable (relocate.sh, run in the suite's container): `$ORIGIN`-relative RPATHs,
 * no libtool archives, and the list of libraries the tree needs from outside itself; and reading what a clean system
 * of the target already has.
 */

export const RELOCATE_SCRIPT = join(__dirname, 'relocate.sh');

export const NEEDED_MARKER = 'pharos-needed:';

/** Sonames `ldconfig -p` lists on a clean system of the target: what the tree may rely on without bundling. */
export function parseLdconfig(output: string): string[] {
  return [
    ...new Set(
      output
        .split('\n')
        .map((l) => /^\s*(\S+\.so\S*)\s+\(/.exec(l)?.[1])
        .filter((s): s is string => !!s),
    ),
  ].sort();
}
