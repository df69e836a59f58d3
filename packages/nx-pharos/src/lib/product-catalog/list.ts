import type { ProductEntry, ProductKind } from '../../products/product-manifests';
import { formatBytes } from '../../utils/byte-size';
import { compareVersions } from '../../utils/version-order';

/**
 * `pharos list`: one row per product dist/ holds, from its manifest and the files it names. Pure: the manifests as
 * recognised (products/product-manifests.ts) and what the CLI found on disk in, rows and text out.
 */

/** What is on disk at a product file's path. The size is the real file's, behind a link into the store. */
export type FileState =
  { state: 'file'; bytes: number } | { state: 'store-link'; bytes: number; blob: string } | { state: 'missing-blob'; blob: string } | { state: 'missing' };

export interface ListedProduct {
  entry: ProductEntry;
  /** By workspace-relative path, for each of entry.files. */
  files: ReadonlyMap<string, FileState>;
  /** When the manifest was written (or restored by Nx): its mtime, ISO 8601. */
  date: string;
}

/**
 * ok: every file the manifest names is there with the size it records. absent: an optional package built without its
 * source. missing blob: a link into the store whose blob this machine lacks (a consumer fetches it from the team store,
 * or a rebuild puts it back). damaged: a file is missing or of another size.
 */
export type ListStatus = 'ok' | 'absent' | 'missing blob' | 'damaged';

export interface ListRow {
  project: string;
  kind: ProductKind;
  version?: string;
  variants?: string[];
  suite?: string;
  /** The product files' bytes on disk (the manifest's when a blob is missing); undefined when it has none. */
  bytes?: number;
  date: string;
  digest?: string;
  status: ListStatus;
  reasons: string[];
  manifest: string;
}

const KIND_ORDER: ProductKind[] = ['source', 'debs', 'tarball', 'image', 'sif', 'overlay', 'base-disk', 'vm-image'];

function judge(p: ListedProduct): { status: ListStatus; reasons: string[]; bytes?: number } {
  if (p.entry.absent) return { status: 'absent', reasons: [p.entry.absent] };
  const reasons: string[] = [];
  let status: ListStatus = 'ok';
  let bytes: number | undefined;
  for (const f of p.entry.files) {
    const s = p.files.get(f.path) ?? { state: 'missing' };
    if (s.state === 'missing') {
      status = 'damaged';
      reasons.push(`${f.path} is missing`);
    } else if (s.state === 'missing-blob') {
      if (status === 'ok') status = 'missing blob';
      reasons.push(`${f.path} links to ${s.blob}, which this machine's store lacks`);
      if (f.bytes !== undefined) bytes = (bytes ?? 0) + f.bytes;
    } else {
      bytes = (bytes ?? 0) + s.bytes;
      if (f.bytes !== undefined && f.bytes !== s.bytes) {
        status = 'damaged';
        reasons.push(`${f.path} has ${s.bytes} bytes, the manifest records ${f.bytes}`);
      }
    }
  }
  return { status, reasons, ...(bytes !== undefined ? { bytes } : {}) };
}

export function listRows(products: readonly ListedProduct[]): ListRow[] {
  return products
    .map((p): ListRow => {
      const { entry } = p;
      return {
        project: entry.project,
        kind: entry.kind,
        ...(entry.version ? { version: entry.version } : {}),
        ...(entry.variants ? { variants: entry.variants } : {}),
        ...(entry.suite ? { suite: entry.suite } : {}),
        ...judge(p),
        date: p.date,
        ...(entry.digest ? { digest: entry.digest } : {}),
        manifest: entry.manifest,
      };
    })
    .sort(
      (a, b) =>
        a.project.localeCompare(b.project) ||
        KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
        compareVersions(a.version ?? '', b.version ?? '') ||
        (a.suite ?? '').localeCompare(b.suite ?? '') ||
        a.manifest.localeCompare(b.manifest),
    );
}

export interface ListFilter {
  kinds: string[];
  /** A row is kept when its project contains each term (case-insensitive); `*` and `?` match the whole name. */
  terms: string[];
}

function termMatches(term: string, project: string): boolean {
  if (/[*?]/.test(term)) {
    const pattern = term
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${pattern}$`, 'i').test(project);
  }
  return project.toLowerCase().includes(term.toLowerCase());
}

export function filterListRows(rows: readonly ListRow[], filter: ListFilter): ListRow[] {
  return rows.filter((r) => (!filter.kinds.length || filter.kinds.includes(r.kind)) && filter.terms.every((t) => termMatches(t, r.project)));
}

export const KINDS: readonly ProductKind[] = KIND_ORDER;

const SHORT_DIGEST = 12;

/** The table `pharos list` prints: one line per product, the reasons for a status other than ok under it. */
export function formatList(rows: readonly ListRow[]): string {
  const cells = rows.map((r) => [
    r.project,
    r.kind,
    r.version ?? '-',
    r.variants?.length ? r.variants.join(',') : '-',
    r.suite ?? '-',
    r.bytes !== undefined ? formatBytes(r.bytes) : '-',
    r.date.slice(0, 16).replace('T', ' '),
    r.digest ? r.digest.replace(/^sha256:/, '').slice(0, SHORT_DIGEST) : '-',
    r.status,
  ]);
  const header = ['PROJECT', 'KIND', 'VERSION', 'VARIANTS', 'SUITE', 'SIZE', 'DATE', 'DIGEST', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `${c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ')}\n`;
  return [line(header), ...rows.flatMap((r, i) => [line(cells[i]), ...r.reasons.map((why) => `    ${r.status}: ${why}\n`)])].join('');
}
