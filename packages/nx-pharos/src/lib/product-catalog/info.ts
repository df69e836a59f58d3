import type { ProductEntry } from '../../products/product-manifests';
import { formatBytes } from '../../utils/byte-size';
import { PharosError } from '../../utils/errors';
import type { FileState, ListRow } from './list';

/**
 * `pharos info <product>`: one product's manifest, what it was built from, its signatures, and whether its files
 * (and their blobs in the store) are here. Pure: a recognised manifest and what the CLI found on disk in, an object
 * and text out.
 */

export interface Signature {
  /** What is signed and how it is checked. */
  what: string;
  present: boolean;
  files: string[];
  fingerprint?: string;
}

export interface ProductInfo {
  manifest: string;
  project: string;
  kind: string;
  version?: string;
  suite?: string;
  variants?: string[];
  status: ListRow['status'];
  reasons: string[];
  files: Array<{ path: string; sha256?: string; bytes?: number; on: string }>;
  builtFrom: string[];
  /** Undefined for a kind Pharos does not sign. */
  signatures?: Signature[];
  /** A build of it running now: who holds its lock. */
  lockedBy?: string;
  manifestData: Record<string, unknown>;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const sha = (what: string, v: { file?: string; sha256?: string } | undefined) => (v ? [`${what}: ${v.file ?? ''} sha256 ${v.sha256 ?? '?'}`] : []);

/** The inputs the manifest records, one line each, by kind. */
export function builtFrom(kind: string, m: Json): string[] {
  switch (kind) {
    case 'image':
      return [
        ...(m.base ?? []).map((b: Json) => `base: ${b.ref}${b.id ? ` (${b.id})` : ''}${b.source ? ` from ${b.source}` : ''}`),
        `defined by: ${m.definedBy}`,
        `image ID: ${m.id}`,
        `tags: ${(m.tags ?? []).join(' ')}`,
      ];
    case 'sif':
      return [
        ...(m.image ? [`image: ${m.image.id} (archive sha256 ${m.image.archiveSha256})`] : []),
        ...sha('definition', m.definition),
        ...(m.base ? [`base SIF: ${m.base.sif} of ${m.base.project}, sha256 ${m.base.sha256}`] : []),
        `apptainer ${m.apptainerVersion}, mksquashfs ${m.mksquashfsArgs}`,
      ];
    case 'overlay':
      return [
        ...sha('script', m.script),
        ...(m.sources ?? []).flatMap((s: Json) => sha('source', s)),
        `base SIF: ${m.base?.sif} of ${m.base?.project}, sha256 ${m.base?.sha256}`,
        ...(m.deps ?? []).map((d: Json) => `overlay ${d.overlay} (${d.project}), sha256 ${d.sha256}`),
        ...(m.network ? ['built with the network (#NETWORK:yes)'] : []),
        `apptainer ${m.apptainerVersion}, mksquashfs ${(m.mksquashfsArgs ?? []).join(' ')}`,
      ];
    case 'debs':
    case 'tarball':
      return [
        ...sha('source', m.source),
        ...sha('packaging', m.packaging),
        ...(m.patches ?? []).flatMap((p: Json) => sha('patch', p)),
        ...(m.builtOn ? [`built on image ${m.builtOn}`] : []),
        ...Object.entries((m.buildFrom ?? {}) as Record<string, Record<string, string>>).map(
          ([suite, pkgs]) =>
            `from ${suite}: ${Object.entries(pkgs)
              .map(([p, v]) => `${p} ${v}`)
              .join(', ')}`,
        ),
        ...(m.configureFlags?.length ? [`configure flags: ${m.configureFlags.join(' ')}`] : []),
        // A tarball's components (Open MPI beside Slurm) are built into the same view from sources of their own.
        ...(m.components ?? []).map(
          (c: Json) =>
            `component ${c.name} ${c.version}: ${c.source?.file} sha256 ${c.source?.sha256}${c.configureFlags?.length ? `, configure flags: ${c.configureFlags.join(' ')}` : ''}`,
        ),
        ...(m.modules?.layout ? [`modules: ${m.modules.layout} layout${m.compiler ? `, compiler ${m.compiler.name} ${m.compiler.version}` : ''}`] : []),
        ...(m.bundled?.length ? [`bundled libraries: ${m.bundled.map((b: Json) => `${b.soname} (${b.package})`).join(', ')}`] : []),
      ];
    case 'source':
      return m.available
        ? [
            `${m.file} sha256 ${m.sha256}, from ${m.from}`,
            ...(m.packaging ? [`packaging ${m.packaging.file} sha256 ${m.packaging.sha256}, from ${m.packaging.from}`] : []),
          ]
        : [];
    case 'base-disk':
      return [`Debian ${m.suite}, from the archive ${m.mirror}`];
    case 'vm-image':
      return [
        `base disk: ${m.base?.file} sha256 ${m.base?.sha256}`,
        `packer ${m.packer}, qemu ${m.qemu}, ${m.accelerator}`,
        ...(m.leftOut ?? []).map((l: Json) => `without ${l.project}: ${l.why}`),
      ];
    default:
      return [];
  }
}

/** The signatures a product of this kind can carry, and which are here; `exists` says whether a workspace path is. */
export function signaturesOf(entry: ProductEntry, exists: (path: string) => boolean): Signature[] | undefined {
  const m = entry.manifestData as Json;
  const dir = entry.manifest.slice(0, entry.manifest.lastIndexOf('/'));
  if (entry.kind === 'sif') {
    // A container's SIF is signed when its target had a key: the public half is written beside it.
    const key = entry.manifest.replace(/\.json$/, '.pub.pem');
    if (m.definition) return undefined;
    return [
      {
        what: `SIF signature (apptainer verify --key ${key} ${entry.files[0].path}); the signer's fingerprint is not recorded`,
        present: exists(key),
        files: [key],
      },
    ];
  }
  if (entry.kind === 'tarball') {
    if (!m.signature) return [{ what: 'GPG signature (tarball --sign)', present: false, files: [] }];
    const files = [`${dir}/${m.signature.file}`, `${dir}/${m.signature.publicKey}`];
    return [{ what: 'GPG signature (gpg --verify)', present: files.every(exists), files, fingerprint: m.signature.fingerprint }];
  }
  return undefined;
}

function fileOn(s: FileState | undefined): string {
  if (!s || s.state === 'missing') return 'missing';
  if (s.state === 'missing-blob') return `a link into the store; its blob ${s.blob} is missing here`;
  if (s.state === 'store-link') return `a link into the store, blob present (${s.blob})`;
  return 'a file in dist/';
}

export function productInfo(
  entry: ProductEntry,
  row: Pick<ListRow, 'status' | 'reasons'>,
  files: ReadonlyMap<string, FileState>,
  signatures: Signature[] | undefined,
  lockedBy?: string,
): ProductInfo {
  return {
    manifest: entry.manifest,
    project: entry.project,
    kind: entry.kind,
    ...(entry.version ? { version: entry.version } : {}),
    ...(entry.suite ? { suite: entry.suite } : {}),
    ...(entry.variants ? { variants: entry.variants } : {}),
    status: row.status,
    reasons: row.reasons,
    files: entry.files.map((f) => ({ ...f, on: fileOn(files.get(f.path)) })),
    builtFrom: builtFrom(entry.kind, entry.manifestData),
    ...(signatures ? { signatures } : {}),
    ...(lockedBy ? { lockedBy } : {}),
    manifestData: entry.manifestData,
  };
}

export function formatProductInfo(info: ProductInfo): string {
  const lines = [
    `${info.manifest}`,
    `  project:     ${info.project}`,
    `  kind:        ${info.kind}`,
    ...(info.version ? [`  version:     ${info.version}`] : []),
    ...(info.suite ? [`  suite:       ${info.suite}`] : []),
    ...(info.variants ? [`  variants:    ${info.variants.join(' ') || '(none)'}`] : []),
    `  status:      ${info.status}`,
    ...info.reasons.map((r) => `    ${r}`),
    ...(info.lockedBy ? [`  building:    locked by ${info.lockedBy}`] : []),
    '  files:',
    ...(info.files.length
      ? info.files.map(
          (f) => `    ${f.path}${f.bytes !== undefined ? ` (${formatBytes(f.bytes)})` : ''}: ${f.on}${f.sha256 ? `\n      sha256 ${f.sha256}` : ''}`,
        )
      : ['    (none)']),
    '  built from:',
    ...(info.builtFrom.length ? info.builtFrom.map((b) => `    ${b}`) : ['    (nothing recorded)']),
    '  signatures:',
    ...(info.signatures
      ? info.signatures.map(
          (s) =>
            `    ${s.present ? 'present' : 'absent'}: ${s.what}${s.files.length ? ` [${s.files.join(', ')}]` : ''}${s.fingerprint ? `, signer ${s.fingerprint}` : ''}`,
        )
      : [`    none: Pharos signs no ${info.kind}; its manifest's sha256 identifies it`]),
    '  manifest:',
    ...JSON.stringify(info.manifestData, null, 2)
      .split('\n')
      .map((l) => `    ${l}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The products `term` names: a manifest or product file or folder under dist/ (workspace-relative, `./` and a trailing
 * `/` allowed), or a project, optionally with `/<version>` (`slurm/24.11.5`) or `/<suite>`.
 */
export function findProducts(entries: readonly ProductEntry[], term: string): ProductEntry[] {
  const path = term.replace(/^\.\//, '').replace(/\/+$/, '');
  const byPath = entries.filter(
    (e) => e.manifest === path || e.files.some((f) => f.path === path) || e.outputs.includes(path) || e.manifest.startsWith(`${path}/`),
  );
  if (byPath.length) return byPath;
  // project[/version][/suite], in either order: each further part narrows the products.
  const [project, ...qualifiers] = path.split('/');
  const found = entries.filter((e) => e.project === project && qualifiers.every((q) => e.version === q || e.suite === q));
  if (found.length) return found;
  const projects = [...new Set(entries.map((e) => e.project))].sort();
  throw new PharosError(`no product ${term} in dist/`, {
    step: 'info',
    next: projects.length
      ? `name a manifest or product file, or a project that has products: ${projects.join(', ')} (pharos list shows them all)`
      : 'dist/ holds no product: build one (npx nx run-many -t build), then pharos list',
  });
}
