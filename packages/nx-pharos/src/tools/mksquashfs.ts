import type { OverlayType } from '../definitions/build-script';
import type { SquashfsCompression } from '../definitions/container';
import { PharosError } from '../utils/errors';
import { mksquashfsArgs } from './apptainer';

/**
 * mksquashfs, which packs an overlay's install tree. It runs in the dev container (squashfs-tools is there, at the
 * version Apptainer's own SIF builds use), through whichever runner the caller holds.
 */

/** condatainer's block sizes: small blocks keep random reads of many small files (an app) cheap; data reads long runs. */
export const OVERLAY_BLOCK_SIZE: Record<OverlayType, string> = { app: '128K', data: '1M' };

export interface PackRequest {
  /** The folder whose *name* becomes the image's top folder (`-keep-as-directory`): `<stage>/cnt` gives `/cnt/…`. */
  tree: string;
  dest: string;
  type: OverlayType;
  processors: number;
  /** `-comp …` and its level, as mksquashfsArgs() spells them. */
  compression: string;
}

/**
 * Every file root-owned (`-all-root`), whoever ran the build, so the overlay reads the same on every node; no
 * appending to whatever is at `dest`; no progress bar in Nx's log.
 */
export function packArgv(req: PackRequest): string[] {
  return [
    'mksquashfs',
    req.tree,
    req.dest,
    '-noappend',
    '-keep-as-directory',
    '-all-root',
    '-processors',
    String(req.processors),
    '-b',
    OVERLAY_BLOCK_SIZE[req.type],
    ...req.compression.split(' '),
    '-no-progress',
  ];
}

/** Measured on htslib and samtools (docs/overlays.md#compression). */
export const OVERLAY_COMPRESSION: { compression: SquashfsCompression; level: number } = { compression: 'zstd', level: 3 };

/** `-comp …` for an overlay: the target's options, else OVERLAY_COMPRESSION. */
export function overlayCompression(compression?: SquashfsCompression, level?: number): string {
  try {
    if (!compression) return mksquashfsArgs(OVERLAY_COMPRESSION.compression, level ?? OVERLAY_COMPRESSION.level);
    return mksquashfsArgs(compression, level);
  } catch (err) {
    throw new PharosError((err as Error).message, {
      step: 'choose the overlay compression',
      next: 'fix the compression / compressionLevel options of the overlay target',
    });
  }
}
