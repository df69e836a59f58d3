import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBaseImageDefinition, type BaseImageDefinition } from '../../definitions/base-image';
import { normalizeBaseImageOptions, type BaseImageExecutorOptions, BASE_IMAGE_SOURCE_ENV } from '../../lib/image/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { assertDaemon, dockerClient, importRootfs, tryPull } from '../../tools/docker';
import { assertDebootstrapUsable, assertSuiteOnMirror, debootstrap, tarRootfs } from '../../tools/debootstrap';
import { resolveDebianMirror } from '../../tools/debian-mirror';
import type { ImageManifest } from '../../products/image';
import { publishImage } from '../../tools/image-store';
import { removeProducts } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { removeChroot } from '../../utils/mounts';
import { pharosCacheDir } from '../../utils/paths';
import { ownedName } from '../../utils/leftovers';

export type { BaseImageExecutorOptions };

const KNOWN_SUITES = ['bookworm', 'trixie', 'forky', 'sid'];
const log = (t: string) => process.stdout.write(t);

export default async function baseImageExecutor(options: BaseImageExecutorOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const o = normalizeBaseImageOptions(options, context);
    const def = parseBaseImageDefinition(await readFile(o.definitionFile, 'utf8'), o.shownDefinition);
    await run.lockProduct(context, o.products.archive, options);
    await removeProducts([o.products.manifest, o.products.archive]);

    const docker = dockerClient();
    await assertDaemon(docker);

    let image: { id: string; base: ImageManifest['base'] } | undefined;
    if (o.source !== 'debootstrap') {
      log(`pharos: pulling ${def.tag}\n`);
      const pulled = await tryPull(docker, def.tag, log);
      if (pulled.id) {
        image = { id: pulled.id, base: [{ ref: def.tag, id: pulled.id, source: 'registry' }] };
      } else if (o.source === 'pull') {
        throw new PharosError(`cannot pull ${def.tag}: ${pulled.reason}`, {
          step: 'pull',
          next: `unset ${BASE_IMAGE_SOURCE_ENV} (or set it to auto) to bootstrap from the Debian archive instead`,
        });
      } else {
        log(`pharos: no registry answers (${pulled.reason}); bootstrapping ${def.tag} from the Debian archive\n`);
      }
    }
    image ??= { id: await bootstrapImage(docker, def), base: [{ ref: `debootstrap --variant=${def.variant} ${def.suite}`, source: 'debian-archive' }] };

    await publishImage(docker, {
      project: o.project,
      imageId: image.id,
      tags: [def.tag],
      outputDir: o.outputDir,
      workspaceRoot: o.workspaceRoot,
      base: image.base,
      definedBy: o.shownDefinition,
      log,
    });
  });
}

/** The suite from the Debian archive, imported as `def.tag`; the root filesystem is removed afterwards, also on Ctrl-C. */
async function bootstrapImage(docker: Docker, def: BaseImageDefinition): Promise<string> {
  const mirror = resolveDebianMirror();
  await assertSuiteOnMirror(def.suite, mirror, KNOWN_SUITES);
  assertDebootstrapUsable(def.suite);
  const cacheDir = pharosCacheDir('debootstrap', def.suite);
  await mkdir(cacheDir, { recursive: true });
  const rootfs = join(tmpdir(), ownedName(`pharos-rootfs-${def.suite}`));
  await mkdir(rootfs, { mode: 0o700 });
  const removeRootfs = onInterrupt(() => removeChroot(rootfs));
  try {
    await debootstrap({ ...def, mirror, target: rootfs, cacheDir, onOutput: log });
    // Package lists and .debs belong to the build that ran, not to the image.
    await rm(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
    await mkdir(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
    log(`pharos: importing ${def.tag}\n`);
    const tar = tarRootfs(rootfs);
    // Awaited together, so a failed import does not leave tar's own failure unhandled.
    const [imageId] = await Promise.all([importRootfs(docker, tar.stream, def.tag, ['CMD ["bash"]', 'ENV LANG=C.UTF-8']), tar.done]);
    return imageId;
  } finally {
    await removeRootfs();
  }
}
