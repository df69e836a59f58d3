import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { shownPath, type NormalizedOverlayOptions } from '../../lib/overlay/normalize-options';
import { overlayBinDirs, type BaseSif, type MountedOverlay } from '../../lib/overlay/mounts';
import { EMBEDDED_SCRIPT, OVERLAY_MOUNT_ROOT } from '../../products/overlay';
import { overlayExecArgv, type Apptainer } from '../../tools/apptainer';
import type { FetchedSource } from '../../tools/source-fetch';
import { buildLog } from '../../utils/build-log';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { ownedName } from '../../utils/leftovers';

const INSTALL_SCRIPT = join(__dirname, 'install.sh');
const TAIL_LINES = 25;

/** Where things are inside the build container; only the prefix is the overlay's own. */
const IN = { src: '/pharos/src', tmp: '/pharos/tmp', script: '/pharos/build-script.sh', env: (i: number) => `/pharos/env/${i}.env` };

/**
 * A build's scratch tree under tmp/overlay/, named for its owner so the next run removes it after a kill -9:
 * `root/cnt/<name>/<version>` (the install prefix, packed afterwards from `root/cnt`), `src/` (the fetched
 * sources), `tmp/` ($tmp_dir) and the script as it ran.
 */
export interface Stage {
  dir: string;
  /** Packed with -keep-as-directory, so the image holds /cnt/<name>/<version>. */
  tree: string;
  target: string;
  src: string;
  tmp: string;
  script: string;
  remove: () => Promise<void>;
}

export async function stageBuild(o: NormalizedOverlayOptions, sources: FetchedSource[]): Promise<Stage> {
  const dir = join(o.workspaceRoot, 'tmp', 'overlay', ownedName(o.project));
  const remove = onInterrupt(() => rm(dir, { recursive: true, force: true }));
  const tree = join(dir, 'root', OVERLAY_MOUNT_ROOT.slice(1));
  const stage = {
    dir,
    tree,
    target: join(dir, 'root', o.appRoot.slice(1)),
    src: join(dir, 'src'),
    tmp: join(dir, 'tmp'),
    script: join(dir, 'build-script.sh'),
    remove,
  };
  for (const d of [stage.target, stage.src, stage.tmp]) await mkdir(d, { recursive: true });
  // Copied, not bound from the source cache: the dev container sees the workspace only.
  for (const s of sources) await copyFile(s.path, join(stage.src, s.file));
  await copyFile(o.scriptFile, stage.script);
  return stage;
}

/** Runs the script's install() in the base SIF, the #DEP overlays under it read-only, without network. */
export async function runInstall(apptainer: Apptainer, o: NormalizedOverlayOptions, base: BaseSif, deps: MountedOverlay[], stage: Stage, logFile: string) {
  const argv = overlayExecArgv({
    sif: base.file,
    overlays: deps.map((d) => d.sqf),
    binds: [
      { host: stage.target, container: o.appRoot },
      { host: stage.src, container: IN.src, readOnly: true },
      { host: stage.tmp, container: IN.tmp },
      { host: stage.script, container: IN.script, readOnly: true },
      ...deps.map((d, i) => ({ host: d.env, container: IN.env(i), readOnly: true })),
    ],
    env: { NCPUS: String(o.ncpus), target_dir: o.appRoot, tmp_dir: IN.tmp, src_dir: IN.src, app_name: o.path.name, version: o.path.version },
    prependPath: overlayBinDirs(deps.map((d) => `${OVERLAY_MOUNT_ROOT}/${d.overlay}`)),
    writableTmpfs: true,
    argv: ['/bin/bash', '-c', await readFile(INSTALL_SCRIPT, 'utf8'), 'pharos-install', IN.script, ...deps.map((_, i) => IN.env(i))],
  });
  const log = buildLog(logFile);
  let exitCode: number;
  try {
    ({ exitCode } = await apptainer.run({ argv, fuse: true, network: 'none', echo: log.stream, what: `install() of ${o.path.key}` }));
  } finally {
    await log.close();
  }
  if (exitCode !== 0) {
    throw new PharosError(`install() failed with exit code ${exitCode}`, {
      file: o.shownScript,
      line: o.script.installLine,
      step: `${o.label}: install() in ${shownPath(o, base.file)}`,
      tail: log.text().trim().split('\n').slice(-TAIL_LINES),
      next: `read the full log, ${shownPath(o, logFile)}; the build has no network, and sees only its #SRC files (in $src_dir) and its #DEP overlays`,
    });
  }
  if (!(await readdir(stage.target)).length) {
    throw new PharosError('install() succeeded but put nothing in $target_dir', {
      file: o.shownScript,
      line: o.script.installLine,
      step: `${o.label}: install()`,
      next: `install into "$target_dir" (${o.appRoot}), e.g. ./configure --prefix="$target_dir"`,
    });
  }
  // The script that made the overlay travels inside it.
  const embedded = join(stage.target, EMBEDDED_SCRIPT);
  await mkdir(join(embedded, '..'), { recursive: true });
  await copyFile(stage.script, embedded);
}
