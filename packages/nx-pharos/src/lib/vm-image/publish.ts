import { statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storeProductFile } from '../../products/store-files';
import { PACKER_MANIFEST, VM_IMAGE_MANIFEST, vmImageFiles, writeVmManifest, type VmImageManifest } from '../../products/vm-image';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { sha256File } from '../../utils/digest';

/**
 * Moves a finished build's image from Packer's output folder into `outputDir` file by file (the base disk may share
 * the folder), each renamed into place (the image as a link into the store, when big), the manifest last; on any
 * failure the products written so far are removed.
 */
export async function publishImage(
  packerOut: string,
  outputDir: string,
  workspaceRoot: string,
  record: Omit<VmImageManifest, 'schema' | 'file' | 'sha256' | 'bytes'>,
): Promise<VmImageManifest> {
  const file = `${record.project}.qcow2`;
  const sha256 = await sha256File(join(packerOut, file));
  await mkdir(outputDir, { recursive: true });
  try {
    await writeAtomically(join(outputDir, file), async (tmp) => {
      await rename(join(packerOut, file), tmp);
      await storeProductFile(tmp, sha256, { workspaceRoot });
    });
    await writeAtomically(join(outputDir, `${file}.sha256`), (tmp) => writeFile(tmp, `${sha256}  ${file}\n`));
    await writeAtomically(join(outputDir, PACKER_MANIFEST), (tmp) => rename(join(packerOut, PACKER_MANIFEST), tmp));
    const manifest: VmImageManifest = {
      schema: 1,
      project: record.project,
      suite: record.suite,
      file,
      sha256,
      bytes: statSync(join(outputDir, file)).size,
      base: record.base,
      packer: record.packer,
      qemu: record.qemu,
      accelerator: record.accelerator,
      without: record.without,
      leftOut: record.leftOut,
    };
    await writeVmManifest(join(outputDir, VM_IMAGE_MANIFEST), manifest);
    return manifest;
  } catch (err) {
    await removeProducts(vmImageFiles(record.project).map((f) => join(outputDir, f)));
    throw err;
  }
}
