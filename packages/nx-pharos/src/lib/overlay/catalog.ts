import { posix } from 'node:path';
import { definitionSummary, type ApptainerDefinition } from '../../definitions/apptainer-definition';
import { expandEnvValue, sourceText, type BuildScript, type DepRequirement, type OverlayType } from '../../definitions/build-script';
import { ANSWERS_DIR_ENV, ANSWERS_EXTENSION, overlayAnswersFile } from '../../definitions/overlay-answers';
import { overlayClosure, resolveDependency } from '../../definitions/overlay-graph';
import { overlayKey, type OverlayPath } from '../../definitions/overlay-path';
import type { OverlayScripts, ScriptFacts } from '../../definitions/overlay-tree';
import { buildCpus, SCHEDULER_PREFIXES, type ResourceSpec, type Scheduler } from '../../definitions/scheduler-resources';
import { appRoot, overlayDir, overlayProductPaths, type OverlayManifest } from '../../products/overlay';
import type { SifManifest } from '../../products/sif';
import { formatBytes } from '../../utils/byte-size';
import { formatDuration } from '../../utils/duration';
import { PharosError } from '../../utils/errors';
import { compareVersions, sortVersions } from '../../utils/version-order';

/**
 * `pharos avail` (its overlays) and `pharos info <name/version>`: what the tree's overlay scripts and `.def` images are and what dist/ holds of each,
 * as condatainer's `avail` and `info` show them. The files are the catalogue (an overlay is what a script
 * builds, built or not); dist/ says which are built, and whether what is built still matches the script (or
 * definition), its #DEP overlays and the base SIF. Pure: the tree as read (definitions/overlay-tree.ts) and what the
 * CLI found in dist/ in, rows and text out. Cheap by design: sizes and digests are compared as the manifests record
 * them; no .sqf or .sif is hashed.
 */

/** What dist/ holds for one overlay (an OverlayManifest) or `.def` image (a SifManifest). */
export type ProductState<M = OverlayManifest> =
  | { kind: 'absent' }
  | { kind: 'unreadable'; error: PharosError }
  /** `fileBytes` is the size on disk of the .sqf (or .sif) the manifest describes, undefined when there is none. */
  | { kind: 'present'; manifest: M; fileBytes?: number };

export interface CatalogInput extends OverlayScripts {
  /** The sha256 of each script and definition as it is now, by its workspace-relative path. */
  scriptDigests: ReadonlyMap<string, string>;
  /** By `name/version`; an overlay missing here is not built. */
  products: ReadonlyMap<string, ProductState>;
  /** The `.def` images' SIFs, by `name/version`; one missing here is not built. */
  images: ReadonlyMap<string, ProductState<SifManifest>>;
  /** The sha256 of each base project's SIF now (by project), undefined when it has no SIF manifest. */
  baseDigests: ReadonlyMap<string, string | undefined>;
}

/**
 * built: the .sqf is there, its size is the manifest's, and the script, #DEP overlays and base SIF are the ones it
 * was built from. stale: built from something that has changed since (Nx would rebuild it). damaged: the manifest
 * cannot be read, or the .sqf is missing or of another size. invalid: the script itself has an error.
 */
export type OverlayStatus = 'built' | 'stale' | 'damaged' | 'not built' | 'invalid';

export interface Judgement {
  status: OverlayStatus;
  /** Why it is stale, damaged or invalid. */
  reasons: string[];
}

/** The command a person runs to use an overlay (the `exec` of src/cli.ts). */
export const PHAROS_COMMAND = 'pharos';

export function execLine(key: string): string {
  return `${PHAROS_COMMAND} exec -o ${key} -- <command>`;
}

/** The scripts and definitions laid out as `containers/overlays/<name>/<version>.sh` (or `.def`). */
function overlayPaths(input: Pick<CatalogInput, 'scripts'>): OverlayPath[] {
  return [...input.scripts.values()].flatMap((f) => (f.path ? [f.path] : []));
}

function productOf(input: CatalogInput, key: string): ProductState {
  return input.products.get(key) ?? { kind: 'absent' };
}

export function imageOf(input: CatalogInput, key: string): ProductState<SifManifest> {
  return input.images.get(key) ?? { kind: 'absent' };
}

/** The base SIF a product was built on, when it has been rebuilt since. */
function baseReason(input: CatalogInput, base: { project: string; sha256: string }): string[] {
  const now = input.baseDigests.get(base.project);
  return now !== undefined && now !== base.sha256 ? [`the base SIF (${base.project}) has been rebuilt since`] : [];
}

/** What has changed since the overlay `key` was built, as its manifest records what it was built from. */
function staleReasons(input: CatalogInput, key: string, manifest: OverlayManifest, scriptSha256: string | undefined): string[] {
  const reasons: string[] = [];
  if (scriptSha256 !== undefined && scriptSha256 !== manifest.script.sha256) reasons.push('the script has changed since the build');
  const closure = overlayClosure(input.graph, key);
  const builtWith = manifest.deps.map((d) => d.overlay);
  if (closure.join(' ') !== builtWith.join(' ')) {
    reasons.push(`its #DEP overlays are now ${closure.join(', ') || 'none'}; it was built with ${builtWith.join(', ') || 'none'}`);
  }
  for (const dep of manifest.deps) {
    const now = productOf(input, dep.overlay);
    if (now.kind !== 'present') reasons.push(`${dep.overlay}, built under it, is not built now`);
    else if (now.manifest.sha256 !== dep.sha256) reasons.push(`${dep.overlay} has been rebuilt since`);
  }
  reasons.push(...baseReason(input, manifest.base));
  return reasons;
}

/** What has changed since the `.def` image was built: the definition, or the SIF its `From:` names. */
function imageStaleReasons(input: CatalogInput, manifest: SifManifest, definitionSha256: string | undefined): string[] {
  const edited = definitionSha256 !== undefined && manifest.definition && definitionSha256 !== manifest.definition.sha256;
  return [...(edited ? ['the definition has changed since the build'] : []), ...(manifest.base ? baseReason(input, manifest.base) : [])];
}

/**
 * damaged: the manifest cannot be read, or the file it describes (`file`, workspace-relative) is missing or of another
 * size; else built, or stale for the reasons `stale` gives.
 */
function productJudgement<M extends { bytes: number }>(product: ProductState<M>, file: (m: M) => string, stale: (m: M) => string[]): Judgement {
  if (product.kind === 'absent') return { status: 'not built', reasons: [] };
  if (product.kind === 'unreadable') {
    const { message, details } = product.error;
    return { status: 'damaged', reasons: [details.file ? `${details.file}: ${message}` : message] };
  }
  const { manifest, fileBytes } = product;
  const shown = file(manifest);
  if (fileBytes === undefined) return { status: 'damaged', reasons: [`${shown} is missing; its manifest is there`] };
  if (fileBytes !== manifest.bytes) return { status: 'damaged', reasons: [`${shown} is ${fileBytes} bytes, its manifest says ${manifest.bytes}`] };
  const reasons = stale(manifest);
  return { status: reasons.length ? 'stale' : 'built', reasons };
}

/** The file's own errors first (it cannot be built as it is), else what dist/ holds. */
export function judgeOverlay(input: CatalogInput, file: string): Judgement {
  const facts = input.scripts.get(file);
  if (!facts?.path || facts.errors.length) return { status: 'invalid', reasons: (facts?.errors ?? []).map((e) => e.message) };
  const { path } = facts;
  const digest = input.scriptDigests.get(file);
  const inDist = (name: string) => posix.join(overlayDir(path.name), name);
  if (path.kind === 'def') {
    return productJudgement(
      imageOf(input, path.key),
      (m) => inDist(m.sif),
      (m) => imageStaleReasons(input, m, digest),
    );
  }
  return productJudgement(
    productOf(input, path.key),
    (m) => inDist(m.sqf),
    (m) => staleReasons(input, path.key, m, digest),
  );
}

/** An overlay's type, or `image` for a `.def` (a SIF, not an overlay). */
export type CatalogType = OverlayType | 'image';

export interface CatalogRow {
  /** `name/version`, or the script's path when it is not laid out as one. */
  overlay: string;
  type?: CatalogType;
  status: OverlayStatus;
  reasons: string[];
  /** The .sqf's (or .sif's) size, as its manifest records it. */
  bytes?: number;
  whatis?: string;
  script: string;
}

/** Name, then version as `sort -V` orders them (1.9 before 1.10), then path. */
function byNameThenVersion(a: { path?: OverlayPath; file: string }, b: { path?: OverlayPath; file: string }): number {
  const [an, bn] = [a.path?.name ?? a.file, b.path?.name ?? b.file];
  if (an !== bn) return an < bn ? -1 : 1;
  const byVersion = a.path && b.path ? compareVersions(a.path.version, b.path.version) : 0;
  return byVersion || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
}

/** The one line about it: a script's #WHATIS:, a definition's first line of %help. */
function whatisOf(facts: { script?: BuildScript; definition?: ApptainerDefinition }): string | undefined {
  return facts.script?.whatis ?? (facts.definition ? definitionSummary(facts.definition) : undefined);
}

/** One row per script and `.def` of the tree, sorted by name, then version. */
export function catalogRows(input: CatalogInput): CatalogRow[] {
  const entries = [...input.scripts].map(([file, facts]) => ({ file, ...facts }));
  return entries.sort(byNameThenVersion).map((entry) => {
    const { file, path, script, definition } = entry;
    const product = path ? (path.kind === 'def' ? imageOf(input, path.key) : productOf(input, path.key)) : undefined;
    const whatis = whatisOf(entry);
    return {
      overlay: path?.key ?? file,
      ...(script ? { type: script.type } : definition ? { type: 'image' as const } : {}),
      ...judgeOverlay(input, file),
      ...(product?.kind === 'present' ? { bytes: product.manifest.bytes } : {}),
      ...(whatis ? { whatis } : {}),
      script: file,
    };
  });
}

/** `*` and `?` wildcards over the whole `name/version`. */
function globPattern(term: string): RegExp {
  const body = term
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * The rows every term matches, as condatainer's `list` filters: a term with `*` or `?` is a wildcard over the whole
 * `name/version`, any other a case-insensitive part of it (`sam`, `1.16`, `samtools/`).
 */
export function filterRows(rows: readonly CatalogRow[], terms: readonly string[]): CatalogRow[] {
  const tests = terms.map((term) =>
    /[*?]/.test(term) ? (s: string) => globPattern(term).test(s) : (s: string) => s.toLowerCase().includes(term.toLowerCase()),
  );
  return rows.filter((row) => tests.every((t) => t(row.overlay)));
}

/** Left-aligned columns two spaces apart; the last column is not padded. */
function alignColumns(lines: readonly string[][]): string[] {
  if (!lines.length) return [];
  const widths = lines[0].map((_, column) => Math.max(...lines.map((cells) => cells[column].length)));
  return lines.map((cells) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd(),
  );
}

/** The overlay table `pharos avail` prints: one line per overlay, and under one that is not plainly built or not, why. */
export function formatCatalog(rows: readonly CatalogRow[]): string {
  if (!rows.length) return '';
  const table = alignColumns([
    ['OVERLAY', 'TYPE', 'STATUS', 'SIZE', 'WHATIS'],
    ...rows.map((r) => [r.overlay, r.type ?? '-', r.status, r.bytes === undefined ? '-' : formatBytes(r.bytes), r.whatis ?? '']),
  ]);
  const out = [table[0]];
  rows.forEach((row, n) => {
    out.push(table[n + 1]);
    for (const reason of row.reasons) out.push(`    ${row.status}: ${reason}`);
  });
  return `${out.join('\n')}\n`;
}

/** Edit distance, for suggesting a name that was meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current.push(Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = current;
  }
  return previous[b.length];
}

/**
 * The script an `info` argument names: `name/version`, or the project `name-version`. Otherwise an error that lists
 * the versions the tree has of that name, or the names that look like it.
 */
export function findOverlay(input: Pick<CatalogInput, 'scripts'>, wanted: string): string {
  const paths = overlayPaths(input);
  const found = paths.find((p) => p.key === wanted || p.projectName === wanted);
  if (found) return found.file;
  const slash = wanted.lastIndexOf('/');
  const name = slash < 0 ? wanted : wanted.slice(0, slash);
  const versions = sortVersions(paths.filter((p) => p.name === name).map((p) => p.version));
  if (versions.length) {
    const what = slash < 0 ? `name the version too: ${name}/<version>` : `no overlay ${wanted}`;
    return fail(`${what}; the tree has ${versions.map((v) => `${name}/${v}`).join(', ')}`, `${PHAROS_COMMAND} info ${name}/${versions[versions.length - 1]}`);
  }
  const names = [...new Set(paths.map((p) => p.name))].sort();
  const lower = name.toLowerCase();
  const near = names.filter((n) => n.toLowerCase().includes(lower) || lower.includes(n.toLowerCase()) || editDistance(n.toLowerCase(), lower) <= 2);
  if (near.length) return fail(`no overlay named ${name}; did you mean ${near.join(', ')}?`, `${PHAROS_COMMAND} avail ${near[0]}`);
  return fail(`no overlay named ${name} in containers/overlays/${names.length ? ` (the tree has ${names.join(', ')})` : ''}`, `${PHAROS_COMMAND} avail`);
}

function fail(message: string, next: string): never {
  throw new PharosError(message, { step: 'info', next });
}

export interface OverlayInfo {
  overlay: string;
  project: string;
  script: string;
  whatis?: string;
  url?: string;
  type: OverlayType;
  /** Where it is installed and mounted, `$app_root`. */
  appRoot: string;
  status: OverlayStatus;
  reasons: string[];
  /** Each `#DEP:` as written, and the overlay it resolves to in the tree (none when it resolves to nothing). */
  deps: Array<{ dep: string; line: number; resolved?: string }>;
  /** Everything mounted under it, dependencies first, and whether each is built. */
  closure: Array<{ overlay: string; status: OverlayStatus }>;
  /** `$app_root` expanded, as the `.env` holds them. */
  env: Array<{ key: string; value: string; note?: string }>;
  resources: ResourceSpec;
  /** `$NCPUS` as the build asks for it, before it is capped at the machine's CPUs. */
  ncpus?: number;
  /** Scheduler directives Pharos keeps for a scheduler but does not map: `#SBATCH --partition=short`. */
  schedulerOther: Array<{ directive: string; line: number }>;
  sources: Array<{ source: string; file: string; sha256: string; line: number }>;
  /** `#NETWORK:yes`: install() can reach the network. */
  network?: { line: number };
  /** The `#INTERACTIVE:` prompts, and where their answers are read from (never the answers). */
  questions?: { prompts: Array<{ prompt: string; line: number }>; answers: string; pinned?: string };
  /** When dist/ holds a readable manifest: what it records, paths workspace-relative. */
  product?: {
    sqf: string;
    env: string;
    manifest: string;
    bytes: number;
    sha256: string;
    base: OverlayManifest['base'];
    deps: OverlayManifest['deps'];
    network?: true;
    answers?: OverlayManifest['answers'];
    apptainerVersion: string;
    mksquashfsArgs: string[];
  };
  exec: string;
}

/** `#SBATCH --partition=short`, `#PBS -q workq`: an unmapped directive as a scheduler would read it. */
function directiveText(scheduler: Scheduler, flag: string, value?: string): string {
  const joined = value === undefined ? flag : flag.startsWith('--') ? `${flag}=${value}` : `${flag} ${value}`;
  return `${SCHEDULER_PREFIXES[scheduler]} ${joined}`;
}

/** What the tree knows of `file`, with its path; its error when it cannot be read at all. */
export function readableFacts(input: Pick<CatalogInput, 'scripts'>, file: string): ScriptFacts & { path: OverlayPath } {
  const facts = input.scripts.get(file);
  if (facts?.path && (facts.script || facts.definition)) return facts as ScriptFacts & { path: OverlayPath };
  const errors = facts?.errors ?? [];
  if (errors.length === 1) throw errors[0];
  throw new PharosError(`${file} cannot be read:\n${errors.map((e) => e.format()).join('\n')}`, { step: 'info' });
}

/** The questions a script asks, and the file their answers come from (lib/overlay/answers.ts). */
function questionsOf(path: OverlayPath, script: BuildScript): OverlayInfo['questions'] {
  if (!script.interactive.length) return undefined;
  const outside = `$${ANSWERS_DIR_ENV}/${path.name}/${path.version}${ANSWERS_EXTENSION}`;
  return {
    prompts: script.interactive.map((p) => ({ prompt: p.prompt, line: p.line })),
    answers: `${overlayAnswersFile(path.name, path.version)}, or ${outside}`,
    ...(script.answers ? { pinned: script.answers.sha256 } : {}),
  };
}

/** Everything `pharos info` shows of the overlay whose script is `file` (findOverlay); `imageInfo` for a `.def`. */
export function overlayInfo(input: CatalogInput, file: string): OverlayInfo {
  const { path, script } = readableFacts(input, file);
  if (!script) throw new PharosError(`${file} is an Apptainer definition file, not a build script`, { step: 'info' });
  const questions = questionsOf(path, script);
  const root = appRoot(path.name, path.version);
  const paths = overlayPaths(input);
  const resolve = (dep: DepRequirement) => {
    const version = resolveDependency(
      dep,
      paths.filter((p) => p.name === dep.name).map((p) => p.version),
    );
    return version === undefined ? {} : { resolved: overlayKey(dep.name, version) };
  };
  const fileOf = (key: string) => paths.find((p) => p.key === key)?.file;
  const product = productOf(input, path.key);
  const products = overlayProductPaths(overlayDir(path.name), path.version);
  return {
    overlay: path.key,
    project: path.projectName,
    script: file,
    ...(script.whatis ? { whatis: script.whatis } : {}),
    ...(script.url ? { url: script.url } : {}),
    type: script.type,
    appRoot: root,
    ...judgeOverlay(input, file),
    deps: script.deps.map((d) => ({ dep: d.text, line: d.line, ...resolve(d) })),
    closure: overlayClosure(input.graph, path.key).map((key) => ({ overlay: key, status: judgeOverlay(input, fileOf(key) ?? key).status })),
    env: script.env.map((e) => ({ key: e.key, value: expandEnvValue(e.value, root), ...(e.note ? { note: e.note } : {}) })),
    resources: script.scheduler.resources,
    ...(buildCpus(script.scheduler.resources) !== undefined ? { ncpus: buildCpus(script.scheduler.resources) } : {}),
    schedulerOther: (Object.keys(script.scheduler.other) as Scheduler[]).flatMap((s) =>
      script.scheduler.other[s].map((o) => ({ directive: directiveText(s, o.flag, o.value), line: o.line })),
    ),
    sources: script.sources.map((s) => ({ source: sourceText(s), file: s.file, sha256: s.sha256, line: s.line })),
    ...(script.network ? { network: script.network } : {}),
    ...(questions ? { questions } : {}),
    ...(product.kind === 'present'
      ? {
          product: {
            sqf: products.sqf,
            env: products.env,
            manifest: products.manifest,
            bytes: product.manifest.bytes,
            sha256: product.manifest.sha256,
            base: product.manifest.base,
            deps: product.manifest.deps,
            ...(product.manifest.network ? { network: true as const } : {}),
            ...(product.manifest.answers ? { answers: product.manifest.answers } : {}),
            apptainerVersion: product.manifest.apptainerVersion,
            mksquashfsArgs: product.manifest.mksquashfsArgs,
          },
        }
      : {}),
    exec: execLine(path.key),
  };
}

/** `cpus per task 2, memory 2 GiB, time 30m`: the normalised request, in the units a person would write. */
export function formatResources(spec: ResourceSpec): string {
  const memory = (mib: number) => (mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);
  const parts = [
    spec.nodes !== undefined && `nodes ${spec.nodes}`,
    spec.tasks !== undefined && `tasks ${spec.tasks}`,
    spec.cpusPerTask !== undefined && `cpus per task ${spec.cpusPerTask}`,
    spec.memoryMiB !== undefined && `memory ${memory(spec.memoryMiB)} per node`,
    spec.timeMinutes !== undefined && `time ${formatDuration(spec.timeMinutes * 60_000)}`,
    spec.gpus !== undefined && `gpus ${spec.gpus}${spec.gpuType ? ` (${spec.gpuType})` : ''} per node`,
  ];
  return parts.filter((p): p is string => !!p).join(', ') || 'none requested';
}

/** One section of `info`: a heading and its lines indented under it, or nothing when it has none. */
export function section(heading: string, lines: readonly string[]): string[] {
  return lines.length ? ['', heading, ...lines.map((l) => `  ${l}`)] : [];
}

/** `label: value` lines with the values aligned; an empty label continues the line above. */
export function labelled(pairs: ReadonlyArray<[string, string | undefined]>): string[] {
  const present = pairs.filter((p): p is [string, string] => p[1] !== undefined);
  return alignColumns(present.map(([label, value]) => [label ? `${label}:` : '', value]));
}

/** `<path> (8,069,120 bytes, 7.7 MiB)`. */
export function sizedFile(path: string, bytes: number): string {
  return `${path} (${bytes.toLocaleString('en-US')} bytes, ${formatBytes(bytes)})`;
}

/** The base SIF a manifest records. */
export function baseSifLine(base: { project: string; sif: string; sha256: string }): string {
  return `${base.sif} (project ${base.project}), sha256 ${base.sha256}`;
}

/**
 * The `product` section of `info`: what the manifest records (`rows`), or, when dist/ does not hold it readably, the
 * task that makes it.
 */
export function productSection(status: OverlayStatus, task: string, rows: ReadonlyArray<[string, string | undefined]> | undefined): string[] {
  const unbuilt = status === 'not built' ? `not built: npx nx run ${task}` : `no readable manifest (status above): npx nx run ${task} --skip-nx-cache`;
  return section('product', rows ? labelled(rows) : [unbuilt]);
}

/** The text `pharos info` prints. */
export function formatOverlayInfo(info: OverlayInfo): string {
  const p = info.product;
  const lines = [
    `${info.overlay}${info.whatis ? ` — ${info.whatis}` : ''}`,
    ...labelled([
      ['project', info.project],
      ['script', info.script],
      ['url', info.url],
      ['type', `${info.type} (installed and mounted at ${info.appRoot})`],
      ['network', info.network ? `WITH NETWORK (#NETWORK:yes, line ${info.network.line}): builds are not reproducible from pinned sources` : undefined],
      ['status', info.status],
    ]).map((l) => `  ${l}`),
    ...info.reasons.map((r) => `    ${info.status}: ${r}`),
    ...section('dependencies (#DEP)', [
      ...info.deps.map((d) => `line ${d.line}: #DEP:${d.dep} → ${d.resolved ?? 'nothing in the tree'}`),
      ...(info.closure.length ? [`mounted under it, in order: ${info.closure.map((c) => `${c.overlay} (${c.status})`).join(', ')}`] : []),
    ]),
    ...section('environment (#ENV)', alignColumns(info.env.map((e) => [`${e.key}=${e.value}`, e.note ? `# ${e.note}` : '']))),
    ...section('build resources (#SBATCH, #PBS, #BSUB)', [
      `${formatResources(info.resources)}${info.ncpus !== undefined ? `; $NCPUS ${info.ncpus} (at most this machine's CPUs)` : ''}`,
      ...info.schedulerOther.map((o) => `kept for a scheduler: ${o.directive} (line ${o.line})`),
    ]),
    ...section('questions (#INTERACTIVE)', [
      ...(info.questions?.prompts ?? []).map((q) => `line ${q.line}: ${q.prompt.replace(/\n/g, '\n    ')}`),
      ...(info.questions ? [`answered from ${info.questions.answers}, one a line`] : []),
      ...(info.questions?.pinned ? [`pinned: #ANSWERS:sha256:${info.questions.pinned}`] : []),
    ]),
    ...section(
      'sources (#SRC)',
      info.sources.flatMap((s) => [s.source, `  sha256 ${s.sha256}`]),
    ),
    ...productSection(
      info.status,
      `${info.project}:overlay`,
      p && [
        ['sqf', sizedFile(p.sqf, p.bytes)],
        ['sha256', p.sha256],
        ['env', p.env],
        ['manifest', p.manifest],
        ['base SIF', baseSifLine(p.base)],
        ...p.deps.map((d, n): [string, string] => [n ? '' : 'built on', `${d.overlay} sha256 ${d.sha256}`]),
        ['network', p.network ? 'yes: install() could reach the network' : undefined],
        ['answers', p.answers ? `${p.answers.file}, sha256 ${p.answers.sha256}` : undefined],
        ['apptainer', p.apptainerVersion],
        ['mksquashfs', p.mksquashfsArgs.join(' ')],
      ],
    ),
    ...section('use it', [info.exec]),
  ];
  return `${lines.join('\n')}\n`;
}
