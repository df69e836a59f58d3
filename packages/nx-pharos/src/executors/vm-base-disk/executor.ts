import type { ExecutorContext } from '@nx/devkit';
import { execa } from 'execa';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { runExecutor } from '../../lib/team-store/install';
import { normalizeVmImageOptions, type VmImageOptions } from '../../lib/vm-image/normalize-options';
import { hashAndStore } from '../../products/store-files';
import { BASE_DISK_FILE, BASE_DISK_MANIFEST, writeVmManifest } from '../../products/vm-image';
import { aptProxyFor } from '../../tools/apt-cache';
import { resolveDebianMirror } from '../../tools/debian-mirror';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { buildLog, buildLogFile } from '../../utils/build-log';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import type { ProductLockOptions } from '../../utils/executor';
import { pharosCacheDir } from '../../utils/paths';
import { ownedName } from '../../utils/leftovers';

export type VmBaseDiskOptions = Pick<VmImageOptions, 'definition' | 'outputPath'> & ProductLockOptions;

/**
 * The first disk of an image chain, from the Debian archive alone: the project's base-disk script (debootstrap, then
 * sfdisk, `mkfs.ext4 -d` and GRUB written with dd; no loop devices, no mounts), run as root on the host. Product:
 * base.qcow2 + base.json (sha256, suite, mirror). The script's whole output goes to a log; its phases to the terminal.
 */
export default async function vmBaseDiskExecutor(options: VmBaseDiskOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const started = Date.now();
    const { name, label, projectDir, definitionFile, def, outputDir } = normalizeVmImageOptions(options, context, 'base-disk');
    if (!def.baseDisk) throw new PharosError('the definition has no "baseDisk"', { file: definitionFile });
    if (process.getuid?.() !== 0)
      throw new PharosError('building a base disk needs root (debootstrap and chroot)', { step: label, next: 'run it as root (the README commands do)' });
    const { script: scriptName, size } = def.baseDisk;
    await run.lockProduct(context, outputDir, options);
    await removeProducts([outputDir]);
    const script = join(projectDir, scriptName);
    const mirror = resolveDebianMirror();
    // For the script's debootstrap alone (packer/cloud-base/base-disk.sh): never the check that decides its sources.list.
    const aptCache = await aptProxyFor('host');
    const env = aptCache ? { PHAROS_APT_CACHE: aptCache } : {};
    const logFile = await buildLogFile(context, 'base-disk');
    const work = join(context.root, 'tmp', 'base-disk', ownedName(name));
    process.stdout.write(`pharos: base disk for ${def.suite} from ${mirror}; full log: ${relative(context.root, logFile)}\n`);
    await writeAtomically(outputDir, async (tmp) => {
      await mkdir(tmp, { recursive: true });
      const log = buildLog(logFile, (line) => line.startsWith('base-disk: ') && process.stdout.write(`pharos: ${line}\n`));
      const disk = join(tmp, BASE_DISK_FILE);
      const run = execa(
        'bash',
        [
          script,
          '--suite',
          def.suite,
          '--mirror',
          mirror,
          '--out',
          disk,
          '--work',
          work,
          '--size',
          size,
          '--cache',
          pharosCacheDir('debootstrap-vm', def.suite),
        ],
        { reject: false, all: true, detached: true, stdin: 'ignore', env },
      );
      const stop = onInterrupt(async () => {
        try {
          process.kill(-(run.pid as number), 'SIGTERM');
        } catch {
          // gone
        }
        await run.catch(() => undefined);
        await rm(work, { recursive: true, force: true });
      });
      run.all?.pipe(log.stream);
      const result = await run;
      await log.close();
      await stop();
      if (result.exitCode !== 0) {
        throw new PharosError(`${relative(context.root, script)} exited with code ${result.exitCode}`, {
          file: relative(context.root, logFile),
          step: label,
          tail: log.text().trim().split('\n').slice(-15),
          next: `read ${relative(context.root, logFile)}; the Debian mirror (${mirror}) must serve ${def.suite}`,
        });
      }
      const stored = await hashAndStore(disk, { workspaceRoot: context.root });
      await writeVmManifest(join(tmp, BASE_DISK_MANIFEST), { schema: 1, file: BASE_DISK_FILE, ...stored, suite: def.suite, mirror });
    });
    process.stdout.write(`pharos: ${relative(context.root, join(outputDir, BASE_DISK_FILE))} built in ${Math.round((Date.now() - started) / 1000)} s\n`);
  });
}
