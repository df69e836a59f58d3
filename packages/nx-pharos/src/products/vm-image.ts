import { join, relative } from 'node:path';
import { readManifest, writeManifest } from './manifest';
import { asOutput, productDir } from './paths';
import { assertProductDigest } from './store-files';

/**
 * The products of a VM image project: `base/base.qcow2` + `base.json` (the first disk of a chain, from the Debian
 * archive), and `<name>.qcow2` + its sha256 file + Packer's manifest + `vm-image.json` (written last).
 */
export const VM_IMAGE_MANIFEST = 'vm-image.json';
export const BASE_DISK_MANIFEST = 'base.json';
export const BASE_DISK_FILE = 'base.qcow2';
export const PACKER_MANIFEST = 'packer-manifest.json';

export interface VmImageManifest {
  schema: 1;
  project: string;
  suite: string;
  file: string;
  sha256: string;
  bytes: number;
  base: { file: string; sha256: string };
  packer: string;
  qemu: string;
  accelerator: string;
  /**
   * Package projects the image was built without: named in the plugin option imagesWithout, or optional ones whose
   * source is not pinned. `leftOut` says why for each.
   */
  without: string[];
  leftOut: LeftOutPackage[];
}

/** A package project an image was built without, why, and (for an unpinned source) how to build it in. */
export interface LeftOutPackage {
  project: string;
  why: string;
  next?: string;
}

export interface BaseDiskManifest {
  schema: 1;
  file: string;
  sha256: string;
  bytes: number;
  suite: string;
  mirror: string;
}

/** The folder of an image project's products, relative to the workspace (`projectRoot` may be Nx's token). */
export function vmImageDir(projectRoot: string): string {
  return productDir(projectRoot);
}

export function baseDiskDir(projectRoot: string): string {
  return productDir(projectRoot, 'base');
}

/** The files of `<name>`'s image, in the order they are written (the manifest last). */
export function vmImageFiles(name: string): string[] {
  return [`${name}.qcow2`, `${name}.qcow2.sha256`, PACKER_MANIFEST, VM_IMAGE_MANIFEST];
}

/** The image target's outputs, as Nx paths. */
export function vmImageOutputs(name: string): string[] {
  return vmImageFiles(name).map((f) => asOutput(`${vmImageDir('{projectRoot}')}/${f}`));
}

/** A disk another target starts from: its manifest (base.json or vm-image.json) and the task that makes it. */
export interface DiskProduct {
  manifest: string;
  producer: string;
}

/**
 * The disk a manifest describes, checked against its sha256 before anything boots it. `what` names the disk in
 * messages ("base disk", "VM image").
 */
export async function readVerifiedDisk<T extends { file: string; sha256: string; bytes?: number }>(
  product: DiskProduct,
  workspaceRoot: string,
  what: string,
): Promise<{ manifest: T; disk: string }> {
  const manifest = readManifest<T>(product.manifest, workspaceRoot, { what, required: ['file', 'sha256'] }, product.producer);
  const disk = join(product.manifest, '..', manifest.file);
  await assertProductDigest(disk, manifest, {
    what: manifest.file,
    shown: relative(workspaceRoot, disk),
    rebuild: `npx nx run ${product.producer} --skip-nx-cache`,
  });
  return { manifest, disk };
}

export const writeVmManifest: (file: string, manifest: VmImageManifest | BaseDiskManifest) => Promise<void> = writeManifest;
