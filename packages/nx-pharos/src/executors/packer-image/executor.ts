import type { ExecutorContext } from '@nx/devkit';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { runExecutor } from '../../lib/team-store/install';
import { packerBuildError } from '../../lib/vm-image/build-error';
import { withoutProjects } from '../../definitions/vm-image';
import { absentPackages, leftOutLine, leftOutPackages } from '../../lib/vm-image/left-out';
import { normalizeVmImageOptions, type VmImageOptions } from '../../lib/vm-image/normalize-options';
import { publishImage } from '../../lib/vm-image/publish';
import { inPackerScratch, provisionScripts, renderFiles, stageDebs, stageTemplate, templateVars } from '../../lib/vm-image/stage';
import { readVerifiedDisk, vmImageFiles } from '../../products/vm-image';
import { aptProxyFor } from '../../tools/apt-cache';
import { packerBuild, packerValidate, packerVersion } from '../../tools/packer';
import { detectAccelerator, qemuVersion } from '../../tools/qemu';
import { workspaceKeypair } from '../../tools/ssh-key';
import { removeProducts } from '../../utils/atomic-file';
import { buildLog, buildLogFile } from '../../utils/build-log';
import type { ProductLockOptions } from '../../utils/executor';

export type PackerImageOptions = VmImageOptions & ProductLockOptions;

/**
 * `packer build` of the project's template from its base disk, under the accelerator that really works here, with the
 * cloud-init seed (cd_files, label cidata) carrying the workspace key. Product: `<name>.qcow2` (compressed), Packer's
 * manifest, a sha256 file and vm-image.json, renamed into dist/ only when the whole build succeeded. Packages the
 * site leaves out (imagesWithout) or whose optional source is absent are left out, and vm-image.json says why.
 */
export default async function packerImageExecutor(options: PackerImageOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const started = Date.now();
    const { name, label, projectDir, def: chosen, without: explicit, outputDir, ...o } = normalizeVmImageOptions(options, context);
    // An optional package whose source is not pinned is left out the way imagesWithout leaves one out.
    const leftOut = leftOutPackages(explicit, absentPackages(chosen, o.debs, context));
    const without = leftOut.map((p) => p.project);
    const def = withoutProjects(chosen, without);
    for (const p of leftOut) process.stdout.write(leftOutLine(name, p));
    await run.lockProduct(context, join(outputDir, `${name}.qcow2`), options);
    await removeProducts(vmImageFiles(name).map((f) => join(outputDir, f)));
    const base = await readVerifiedDisk<{ file: string; sha256: string }>(o.base, context.root, 'base disk');

    const version = await packerVersion();
    const accelerator = await detectAccelerator(base.disk, (t) => process.stdout.write(`pharos: ${t}`));
    const aptProxy = await aptProxyFor('qemu');
    const key = await workspaceKeypair(context.root);
    const serialLog = await buildLogFile(context, 'image-serial');
    const buildLogPath = await buildLogFile(context, 'image');
    await inPackerScratch(context.root, name, async (scratch) => {
      const seed = { instanceId: `pharos-build-${randomUUID()}`, hostname: name, sshPublicKey: key.publicKey };
      const staged = stageTemplate({ projectDir, workspaceRoot: context.root, def }, scratch, version, seed);
      const upload = join(scratch, 'upload');
      await mkdir(upload, { recursive: true });
      const debs = await stageDebs(upload, def, o.debs, context, label);
      renderFiles(upload, projectDir, context.root, def, { name, suite: def.suite, cluster: o.cluster });
      if (debs.length) process.stdout.write(`pharos: uploading ${debs.length} .debs: ${debs.join(' ')}\n`);
      const vars = templateVars({
        name,
        def,
        scratch,
        upload,
        baseImage: base.disk,
        baseSha256: base.manifest.sha256,
        accelerator,
        privateKey: key.privateKey,
        sshTimeoutMinutes: o.sshTimeoutMinutes(accelerator),
        provisionTimeoutMinutes: o.provisionTimeoutMinutes,
        seedFiles: staged.seedFiles,
        serialLog,
        provisionScripts: provisionScripts(projectDir, context.root, def),
        aptProxy,
      });
      await packerValidate(scratch, vars, staged.sourceOf);
      process.stdout.write(
        `pharos: packer ${version} build of ${name} (${accelerator}); full log: ${relative(context.root, buildLogPath)}, serial console: ${relative(context.root, serialLog)}\n`,
      );
      // Packer's own output is short and says where it is (SSH, provisioners): all of it reaches the terminal.
      const log = buildLog(buildLogPath, (line) => process.stdout.write(`${line}\n`));
      const built = await packerBuild({ dir: scratch, vars, timeoutMs: o.timeoutMinutes * 60_000, onOutput: (chunk) => log.stream.write(chunk) }).finally(() =>
        log.close(),
      );
      if (built.exitCode !== 0)
        throw packerBuildError(
          built.output,
          built.timedOut,
          o.timeoutMinutes,
          { label, serialLog, buildLog: buildLogPath, workspaceRoot: context.root, provisionTimeoutMinutes: o.provisionTimeoutMinutes },
          built.qemuLost,
        );

      const image = await publishImage(join(scratch, 'out'), outputDir, context.root, {
        project: name,
        suite: def.suite,
        base: { file: base.manifest.file, sha256: base.manifest.sha256 },
        packer: version,
        qemu: await qemuVersion(),
        accelerator,
        without,
        leftOut,
      });
      process.stdout.write(
        `pharos: ${relative(context.root, join(outputDir, image.file))} (sha256 ${image.sha256.slice(0, 16)}…) built in ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
    });
  });
}
