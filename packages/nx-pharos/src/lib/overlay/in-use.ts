import { holdFlock, probeFlock } from '../../tools/flock';
import type { NextProduct } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import { shownPath, type NormalizedOverlayOptions } from './normalize-options';

/**
 * An overlay in use is never replaced under its users: whatever mounts one holds a shared flock on its `.sqf`
 * (mounts.ts holdOverlays), and an update takes the exclusive lock without waiting, refusing while anyone holds it.
 */

function inUse(o: NormalizedOverlayOptions, when: string): PharosError {
  return new PharosError(
    `${o.path.key} is in use: a running \`pharos exec\` (or an overlay test or build that mounts it) holds ${shownPath(o, o.products.sqf)}, so ${when}`,
    {
      step: o.label,
      next: `wait for it to finish, then run again (\`flock --nonblock --exclusive ${shownPath(o, o.products.sqf)} true\` exits 0 once it is free)`,
    },
  );
}

/** Before a build: refuses at once, rather than after the build, when the overlay is in use now. */
export async function refuseWhileInUse(o: NormalizedOverlayOptions): Promise<void> {
  if ((await probeFlock(o.products.sqf)) === 'held') throw inUse(o, 'it cannot be replaced; nothing was built and the current overlay is kept');
}

/**
 * Puts the new product in place (the `.sqf`, the `.env`, the manifest last) while holding the current `.sqf`
 * exclusively, so nothing can start using it between the check and the renames. In use: refuses, and the caller's
 * discard() removes the new files; the current overlay stays as it was.
 */
export async function publishOverlay(o: NormalizedOverlayOptions, next: NextProduct): Promise<void> {
  const held = await holdFlock(o.products.sqf, 'exclusive', { wait: false });
  if (held === 'busy') throw inUse(o, 'the new build was not put in place; it is removed and the current overlay is kept');
  try {
    next.publish();
  } finally {
    if (held !== 'absent') await held.release();
  }
}
