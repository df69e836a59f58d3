import { posix } from 'node:path';
import { DEBS_MANIFEST, type DebsManifest } from './debs';
import { IMAGE_MANIFEST, type ImageManifest } from './image';
import type { OverlayManifest } from './overlay';
import { DIST } from './paths';
import type { SifManifest } from './sif';
import { SOURCE_RECORD, type SourceRecord } from './source';
import { TARBALL_MANIFEST, type TarballManifest } from './tarball';
import { BASE_DISK_MANIFEST, VM_IMAGE_MANIFEST, type BaseDiskManifest, type VmImageManifest } from './vm-image';

/**
 * Every product kind's manifest, recognised by its file name and content, and what the product is made of: its files,
 * its lock and the facts `pharos list`, `info` and `clean` show. Pure: a manifest's workspace-relative path and text
 * in, a description out (or undefined when the file is not a Pharos manifest: another tool's files are never ours).
 */

export type ProductKind = 'image' | 'sif' | 'overlay' | 'debs' | 'tarball' | 'source' | 'base-disk' | 'vm-image';

/** One file of a product, as its manifest records it (workspace-relative path). */
export interface ProductFile {
  path: string;
  sha256?: string;
  bytes?: number;
}

export interface ProductEntry {
  kind: ProductKind;
  project: string;
  /** The manifest, workspace-relative (`dist/...`). */
  manifest: string;
  /** Third-party products: the recipe's version (release). */
  version?: string;
  suite?: string;
  variants?: string[];
  /** The sha256 of the product's main file (for .debs, of none: each .deb has its own). */
  digest?: string;
  /** The files the manifest names, the main one first; the manifest itself is not among them. */
  files: ProductFile[];
  /**
   * What the target writes and Nx restores as a whole, workspace-relative: a folder (a suite's .debs, a tarball build, a
   * base disk) or the product's files and its manifest. `pharos clean` removes exactly these.
   */
  outputs: string[];
  /** `<product>.lock`, where a running build of it holds its lock (utils/product-lock.ts). */
  lock: string;
  /** Set for an optional package built without its source: why there is no product file. */
  absent?: string;
  manifestData: Record<string, unknown>;
}

type Json = Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The manifest's folder, and a path in it. */
function folderOf(manifest: string): { dir: string; at: (file: string) => string } {
  const dir = posix.dirname(manifest);
  return { dir, at: (file) => posix.join(dir, file) };
}

function fileWith(path: string, m: { sha256?: unknown; bytes?: unknown }): ProductFile {
  return { path, ...(isString(m.sha256) ? { sha256: m.sha256 } : {}), ...(typeof m.bytes === 'number' ? { bytes: m.bytes } : {}) };
}

/** The parts of `dist/<root>/…` after dist/: the project root is not known here, only the manifest's place. */
function distParts(manifest: string): string[] {
  return manifest.split('/').slice(1);
}

type Recognise = (manifest: string, data: Json) => Omit<ProductEntry, 'manifest' | 'manifestData'> | undefined;

const image: Recognise = (manifest, data) => {
  const m = data as Partial<ImageManifest>;
  if (!isString(m.id) || !isString(m.project) || !isString(m.archive) || !isString(m.archiveSha256)) return undefined;
  const { at } = folderOf(manifest);
  const archive = at(m.archive);
  return {
    kind: 'image',
    project: m.project,
    digest: m.archiveSha256,
    files: [{ path: archive, sha256: m.archiveSha256, ...(typeof m.archiveBytes === 'number' ? { bytes: m.archiveBytes } : {}) }],
    outputs: [archive, manifest],
    lock: `${archive}.lock`,
  };
};

/** A container's SIF (`<name>.sif.json`) or a `.def` image's (`<version>.sif.json`): the same manifest. */
const sif: Recognise = (manifest, data) => {
  const m = data as Partial<SifManifest>;
  if (!isString(m.sif) || !isString(m.sha256) || !isString(m.project)) return undefined;
  const { at } = folderOf(manifest);
  const file = at(m.sif);
  const publicKey = manifest.replace(/\.json$/, '.pub.pem');
  return {
    kind: 'sif',
    project: m.project,
    digest: m.sha256,
    files: [fileWith(file, m)],
    // The public key is one of the target's outputs whether or not the SIF is signed.
    outputs: m.definition ? [file, manifest] : [file, publicKey, manifest],
    lock: `${file}.lock`,
  };
};

const overlay: Recognise = (manifest, data) => {
  const m = data as Partial<OverlayManifest>;
  if (!isString(m.sqf) || !isString(m.env) || !isString(m.sha256) || !isString(m.overlay) || !isString(m.project)) return undefined;
  const { at } = folderOf(manifest);
  const sqf = at(m.sqf);
  return {
    kind: 'overlay',
    project: m.project,
    version: m.overlay.split('/')[1],
    digest: m.sha256,
    files: [fileWith(sqf, m), { path: at(m.env) }],
    outputs: [sqf, at(m.env), manifest],
    lock: `${sqf}.lock`,
  };
};

const debs: Recognise = (manifest, data) => {
  const m = data as Partial<DebsManifest>;
  if (!isString(m.project) || !isString(m.suite) || !isString(m.version) || !Array.isArray(m.debs)) return undefined;
  const { dir, at } = folderOf(manifest);
  const absent = 'absent' in m && m.absent ? m.absent.reason : undefined;
  return {
    kind: 'debs',
    project: m.project,
    version: m.version,
    suite: m.suite,
    files: m.debs.map((d) => fileWith(at(d.file), d)),
    outputs: [dir],
    lock: `${dir}.lock`,
    ...(absent ? { absent } : {}),
  };
};

const tarball: Recognise = (manifest, data) => {
  const m = data as Partial<TarballManifest>;
  if (!isString(m.project) || !isString(m.file) || !isString(m.sha256) || !isString(m.version)) return undefined;
  const { dir, at } = folderOf(manifest);
  const signature = m.signature ? [{ path: at(m.signature.file) }, { path: at(m.signature.publicKey) }] : [];
  return {
    kind: 'tarball',
    project: m.project,
    version: m.version,
    ...(isString(m.toolchain) ? { suite: m.toolchain } : {}),
    variants: Array.isArray(m.variants) ? m.variants : [],
    digest: m.sha256,
    files: [fileWith(at(m.file), m), ...signature],
    outputs: [dir],
    lock: `${dir}.lock`,
  };
};

/** `dist/<root>/<version>/source.json`: the recipe's name is the project's. */
const source: Recognise = (manifest, data) => {
  const m = data as Partial<SourceRecord>;
  if (!isString(m.name) || !isString(m.version) || typeof m.available !== 'boolean') return undefined;
  const fetched = m.available ? (m as Partial<{ file: string; sha256: string }>) : undefined;
  const absent = !m.available && 'absent' in m && m.absent ? m.absent.reason : undefined;
  return {
    kind: 'source',
    project: m.name,
    version: m.version,
    ...(fetched && isString(fetched.sha256) ? { digest: fetched.sha256 } : {}),
    // The source itself stays in the source cache (outside the workspace): the record is the whole product.
    files: [],
    outputs: [manifest],
    lock: `${manifest}.lock`,
    ...(absent ? { absent } : {}),
  };
};

/** `dist/packer/<name>/base/base.json`: a base disk has no project in its manifest; its folder's parent names it. */
const baseDisk: Recognise = (manifest, data) => {
  const m = data as Partial<BaseDiskManifest>;
  if (!isString(m.file) || !isString(m.sha256) || !isString(m.suite) || !isString(m.mirror)) return undefined;
  const { dir, at } = folderOf(manifest);
  const parts = distParts(dir);
  if (parts.length < 2) return undefined;
  return {
    kind: 'base-disk',
    project: parts[parts.length - 2],
    suite: m.suite,
    digest: m.sha256,
    files: [fileWith(at(m.file), m)],
    outputs: [dir],
    lock: `${dir}.lock`,
  };
};

const vmImage: Recognise = (manifest, data) => {
  const m = data as Partial<VmImageManifest>;
  if (!isString(m.project) || !isString(m.file) || !isString(m.sha256) || !isString(m.suite)) return undefined;
  const { at } = folderOf(manifest);
  const disk = at(m.file);
  return {
    kind: 'vm-image',
    project: m.project,
    suite: m.suite,
    digest: m.sha256,
    files: [fileWith(disk, m)],
    outputs: [disk, `${disk}.sha256`, at('packer-manifest.json'), manifest],
    lock: `${disk}.lock`,
  };
};

/** The kind a manifest's file name says it is; Packer's own packer-manifest.json is not one of ours. */
function recogniserOf(name: string): Recognise | undefined {
  if (name === IMAGE_MANIFEST) return image;
  if (name === DEBS_MANIFEST) return debs;
  if (name === TARBALL_MANIFEST) return tarball;
  if (name === SOURCE_RECORD) return source;
  if (name === BASE_DISK_MANIFEST) return baseDisk;
  if (name === VM_IMAGE_MANIFEST) return vmImage;
  if (name.endsWith('.sif.json')) return sif;
  if (name.endsWith('.sqf.json')) return overlay;
  return undefined;
}

/**
 * A product being written: a temporary sibling (`.<name>.tmp-p<pid>@<node>-<hex>`, utils/atomic-file.ts) or an owned
 * tree (`<name>-p<pid>@<node>-<hex>`), of this node or another. Its manifest is not a product's until it is renamed
 * into place, and removing it is its own run's business (or the leftovers sweep's).
 */
export function isBeingWritten(name: string): boolean {
  return /(?:^|[-.])p\d+@[0-9a-f]{4}-[0-9a-f]{6}$/.test(name) || /\.tmp-/.test(name);
}

/** Whether a file of this name may be a product manifest (worth reading). */
export function mayBeManifest(name: string): boolean {
  return recogniserOf(name) !== undefined;
}

/**
 * The product a file under dist/ describes, or undefined when it is not a Pharos manifest: a name of ours, JSON,
 * `schema: 1` and the keys its kind always has. `manifest` is workspace-relative, with `/`.
 */
export function recogniseManifest(manifest: string, text: string): ProductEntry | undefined {
  if (!manifest.startsWith(`${DIST}/`)) return undefined;
  const recognise = recogniserOf(posix.basename(manifest));
  if (!recognise) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!data || typeof data !== 'object' || Array.isArray(data) || (data as Json).schema !== 1) return undefined;
  const entry = recognise(manifest, data as Json);
  return entry && { ...entry, manifest, manifestData: data as Json };
}
