import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Mount points at or below `dir`, deepest first (the order they must be unmounted in). */
export function mountsUnder(dir: string, mountsText: string): string[] {
  const root = resolve(dir);
  return mountsText
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === root || m.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes a chroot tree. An interrupted debootstrap can leave /proc or /sys mounted inside it, and a plain recursive
 * delete would then walk into the host's /proc and /sys, so those are unmounted first.
 */
export async function removeChroot(dir: string): Promise<void> {
  let text: string;
  try {
    text = readFileSync('/proc/mounts', 'utf8');
  } catch {
    text = '';
  }
  for (const m of mountsUnder(dir, text)) await execa('umount', ['-l', m], { reject: false });
  if (mountsUnder(dir, readFileSync('/proc/mounts', 'utf8')).length) {
    throw new Error(`${dir} still has mounts; not removing it`);
  }
  await rm(dir, { recursive: true, force: true });
}
