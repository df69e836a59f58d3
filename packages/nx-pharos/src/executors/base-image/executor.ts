import type { ExecutorContext } from '@nx/devkit';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseBaseImageDefinition } from '../../definitions/base-image';
import { assertDaemon, dockerClient, importRootfs, inspectImage, tryPull } from '../../tools/docker';
import { assertDebootstrapUsable, assertSuiteOnMirror, debootstrap, tarRootfs } from '../../tools/debootstrap';
import { resolveDebianMirror } from '../../tools/debian-mirror';
import { imageProductPaths, type ImageManifest } from '../../products/image';
import { publishImage } from '../../tools/image-store';
import { removeProducts } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { runExecutor, workspacePath } from '../../utils/executor';
import { removeChroot } from '../../utils/mounts';
import { pharosCacheDir } from '../../utils/paths';

export interface BaseImageExecutorOptions {
  definition: string;
  outputPath?: string;
  source?: 'auto' | 'pull' | 'debootstrap';
}

const SOURCES = ['auto', 'pull', 'debootstrap'];
const KNOWN_SUITES = ['bookworm', 'trixie', 'forky', 'sid'];

export default async function baseImageExecutor(options: BaseImageExecutorOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const definitionFile = workspacePath(options.definition, context);
    const shownDefinition = relative(context.root, definitionFile);
    const def = parseBaseImageDefinition(await readFile(definitionFile, 'utf8'), shownDefinition);
    const source = process.env.PHAROS_BASE_IMAGE_SOURCE || options.source || 'auto';
    if (!SOURCES.includes(source)) {
      throw new PharosError(`PHAROS_BASE_IMAGE_SOURCE="${source}" is not one of ${SOURCES.join(', ')}`, { step: 'choose source' });
    }
    const outputDir = workspacePath(options.outputPath ?? 'dist/{projectRoot}', context);
    const { archive, manifest } = imageProductPaths(outputDir);
    await removeProducts([manifest, archive]);

    const docker = dockerClient();
    await assertDaemon(docker);
    const log = (t: string) => process.stdout.write(t);

    let imageId: string | undefined;
    let base: ImageManifest['base'] = [];
    if (source !== 'debootstrap') {
      log(`pharos: pulling ${def.tag}\n`);
      const pulled = await tryPull(docker, def.tag, log);
      if (pulled.ok) {
        imageId = (await inspectImage(docker, def.tag))?.Id;
        base = [{ ref: def.tag, id: imageId, source: 'registry' }];
      } else if (source === 'pull') {
        throw new PharosError(`cannot pull ${def.tag}: ${pulled.reason}`, {
          step: 'pull',
          next: 'unset PHAROS_BASE_IMAGE_SOURCE (or set it to auto) to bootstrap from the Debian archive instead',
        });
      } else {
        log(`pharos: no registry answers (${pulled.reason}); bootstrapping ${def.tag} from the Debian archive\n`);
      }
    }

    if (!imageId) {
      const mirror = resolveDebianMirror();
      await assertSuiteOnMirror(def.suite, mirror, KNOWN_SUITES);
      assertDebootstrapUsable(def.suite);
      const cacheDir = pharosCacheDir('debootstrap', def.suite);
      await mkdir(cacheDir, { recursive: true });
      const rootfs = await mkdtemp(join(tmpdir(), `pharos-rootfs-${def.suite}-`));
      const removeRootfs = onInterrupt(() => removeChroot(rootfs));
      try {
        await debootstrap({ ...def, mirror, target: rootfs, cacheDir, onOutput: log });
        // Package lists and .debs belong to the build that ran, not to the image.
        await rm(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
        await mkdir(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
        log(`pharos: importing ${def.tag}\n`);
        const tar = tarRootfs(rootfs);
        // Awaited together, so a failed import does not leave tar's own failure unhandled.
        [imageId] = await Promise.all([importRootfs(docker, tar.stream, def.tag, ['CMD ["bash"]', 'ENV LANG=C.UTF-8']), tar.done]);
      } finally {
        await removeRootfs();
      }
      base = [{ ref: `debootstrap --variant=${def.variant} ${def.suite}`, source: 'debian-archive' }];
    }

    await publishImage(docker, { project: context.projectName as string, imageId, tags: [def.tag], outputDir, base, definedBy: shownDefinition, log });
  });
}
