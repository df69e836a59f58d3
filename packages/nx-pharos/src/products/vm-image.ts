export const VM_IMAGE_MANIFEST = 'vm-image.json';
export const BASE_DISK_MANIFEST = 'base.json';

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
  /** Package projects the image was built without (the plugin option imagesWithout). */
  without: string[];
}
