import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OverlayAnswers } from '../../lib/overlay/answers';
import { shownPath, type NormalizedOverlayOptions } from '../../lib/overlay/normalize-options';
import { envInSif, mountedBinDirs, type BaseSif, type MountedOverlay } from '../../lib/overlay/mounts';
import { EMBEDDED_SCRIPT, OVERLAY_MOUNT_ROOT, overlayFileNames, type OverlayManifest } from '../../products/overlay';
import { hashAndStore } from '../../products/store-files';
import { overlayExecArgv, type ApptainerRunner } from '../../tools/apptainer';
import { resolveDebianMirror } from '../../tools/debian-mirror';
import { fetchSource, type FetchedSource } from '../../tools/source-fetch';
import { sha256File } from '../../utils/digest';
import { buildLog } from '../../utils/build-log';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { ownedName } from '../../utils/leftovers';

const INSTALL_SCRIPT = join(__dirname, 'install.sh');
const TAIL_LINES = 25;

/** Where things are inside the build container; only the prefix is the overlay's own. */
const IN = { src: '/pharos/src', tmp: '/pharos/tmp', script: '/pharos/build-script.sh', answers: '/pharos/answers', env: envInSif };

/** Each #SRC of the script, fetched and checked against its digest (the source cache, the mirrors, then its URL). */
export async function fetchScriptSources(o: NormalizedOverlayOptions): Promise<FetchedSource[]> {
  const sources: FetchedSource[] = [];
  const debianMirror = o.script.sources.some((s) => s.location.kind === 'debian-orig') ? resolveDebianMirror() : undefined;
  for (const s of o.script.sources) {
    const { location, sha256, file } = s;
    const log = (t: string) => process.stdout.write(`pharos: ${t}`);
    sources.push(await fetchSource({ what: `${o.path.key} (${file})`, sources: [{ file, sha256, location }], debianMirror, recipeFile: o.shownScript, log }));
  }
  return sources;
}

/**
 * A build's scratch tree under tmp/overlay/, named for its owner so the next run removes it after a kill -9:
 * `root/cnt/<name>/<version>` (the install prefix, packed afterwards from `root/cnt`), `src/` (the fetched
 * sources), `tmp/` ($tmp_dir), the script as it ran and its answers, one a line (readable by the owner only: an
 * answer may be a secret; removed with the tree).
 */
export interface Stage {
  dir: string;
  /** Packed with -keep-as-directory, so the image holds /cnt/<name>/<version>. */
  tree: string;
  target: string;
  src: string;
  tmp: string;
  script: string;
  /** install()'s stdin: the answers, when the script has #INTERACTIVE: prompts. */
  answers?: string;
  remove: () => Promise<void>;
}

export async function stageBuild(o: NormalizedOverlayOptions, sources: FetchedSource[], answers?: OverlayAnswers): Promise<Stage> {
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
    ...(answers ? { answers: join(dir, 'answers') } : {}),
    remove,
  };
  for (const d of [stage.target, stage.src, stage.tmp]) await mkdir(d, { recursive: true });
  // Copied, not bound from the source cache: the dev container sees the workspace only.
  for (const s of sources) await copyFile(s.path, join(stage.src, s.file));
  await copyFile(o.scriptFile, stage.script);
  if (answers && stage.answers) await writeFile(stage.answers, answers.stdin, { mode: 0o600 });
  return stage;
}

/** The line a build with the network prints, on the terminal and in its log: it is not hermetic. */
export function withNetworkNotice(key: string, line: number): string {
  return `pharos: WITH NETWORK: install() of ${key} can reach the network (#NETWORK:yes, line ${line}); builds are not reproducible from pinned sources\n`;
}

/** Runs the script's install() in the base SIF, the #DEP overlays under it read-only, without network unless it says #NETWORK:yes. */
export async function runInstall(
  apptainer: ApptainerRunner,
  o: NormalizedOverlayOptions,
  base: BaseSif,
  deps: MountedOverlay[],
  stage: Stage,
  logFile: string,
) {
  const network = o.script.network;
  const argv = overlayExecArgv({
    sif: base.file,
    overlays: deps.map((d) => d.sqf),
    binds: [
      { host: stage.target, container: o.appRoot },
      { host: stage.src, container: IN.src, readOnly: true },
      { host: stage.tmp, container: IN.tmp },
      { host: stage.script, container: IN.script, readOnly: true },
      ...(stage.answers ? [{ host: stage.answers, container: IN.answers, readOnly: true }] : []),
      ...deps.map((d, i) => ({ host: d.env, container: IN.env(i), readOnly: true })),
    ],
    env: { NCPUS: String(o.ncpus), target_dir: o.appRoot, tmp_dir: IN.tmp, src_dir: IN.src, app_name: o.path.name, version: o.path.version },
    prependPath: mountedBinDirs(deps),
    writableTmpfs: true,
    // install.sh's arguments: the script, install()'s stdin, the network as the log says it, the .env files.
    argv: [
      '/bin/bash',
      '-c',
      await readFile(INSTALL_SCRIPT, 'utf8'),
      'pharos-install',
      IN.script,
      stage.answers ? IN.answers : '/dev/null',
      network ? 'WITH NETWORK' : 'no network',
      ...deps.map((_, i) => IN.env(i)),
    ],
  });
  const log = buildLog(logFile);
  let exitCode: number;
  try {
    if (network) {
      process.stdout.write(withNetworkNotice(o.path.key, network.line));
      log.stream.write(withNetworkNotice(o.path.key, network.line));
    }
    // Without `network`, the dev container is on Docker's default bridge, and install() (no --net) shares it.
    const run = { argv, fuse: true, ...(network ? {} : { network: 'none' as const }), echo: log.stream, what: `install() of ${o.path.key}` };
    ({ exitCode } = await apptainer.run(run));
  } finally {
    await log.close();
  }
  if (exitCode !== 0) {
    throw new PharosError(`install() failed with exit code ${exitCode}`, {
      file: o.shownScript,
      line: o.script.installLine,
      step: `${o.label}: install() in ${shownPath(o, base.file)}`,
      tail: log.text().trim().split('\n').slice(-TAIL_LINES),
      next: `read the full log, ${shownPath(o, logFile)}; the build ${network ? 'has the network (#NETWORK:yes)' : 'has no network'}, and sees only its #SRC files (in $src_dir) and its #DEP overlays`,
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

export interface Built {
  /** The new `.sqf`, not yet in place. */
  sqf: string;
  stage: Stage;
  sources: FetchedSource[];
  answers?: OverlayAnswers;
  base: BaseSif;
  deps: MountedOverlay[];
  apptainerVersion: string;
  /** mksquashfs's argv for a destination. */
  args: (dest: string) => string[];
}

/** The manifest of a new overlay: each input by digest, the `.sqf` by its final name (and in the store, when big). */
export async function overlayManifest(o: NormalizedOverlayOptions, b: Built): Promise<OverlayManifest> {
  const names = overlayFileNames(o.path.version);
  return {
    schema: 1,
    project: o.project,
    overlay: o.path.key,
    type: o.script.type,
    sqf: names.sqf,
    env: names.env,
    ...(await hashAndStore(b.sqf, o)),
    script: { file: o.shownScript, sha256: await sha256File(b.stage.script) },
    sources: b.sources.map((s) => ({ file: s.file, sha256: s.sha256 })),
    base: { project: o.base.project, sif: b.base.manifest.sif, sha256: b.base.manifest.sha256 },
    deps: b.deps.map((d) => ({ overlay: d.overlay, project: d.project, sha256: d.manifest.sha256 })),
    network: !!o.script.network,
    ...(b.answers ? { answers: b.answers.record } : {}),
    mksquashfsArgs: b.args(names.sqf).slice(3),
    apptainerVersion: b.apptainerVersion,
  };
}
