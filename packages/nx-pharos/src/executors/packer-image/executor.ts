import { BASE_DISK_MANIFEST, VM_IMAGE_MANIFEST, type VmImageManifest } from '../../products/vm-image';
import type { ExecutorContext } from '@nx/devkit';
import { randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseVmImageDefinition, withoutProjects, type VmImageDefinition } from '../../definitions/vm-image';
import { diagnosePackerBuild, packerBuild, packerValidate, packerVersion } from '../../tools/packer';
import { detectAccelerator, qemuVersion } from '../../tools/qemu';
import { workspaceKeypair } from '../../tools/ssh-key';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { assertFileDigest, sha256File } from '../../utils/digest';
import { PharosError } from '../../utils/errors';
import { projectRootOf, runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { provisionScripts, renderFiles, stageDebs, stageTemplate, templateVars } from '../../lib/vm-image/stage';

export interface PackerImageOptions {
  definition: string;
  /** The Slurm cluster the image joins (rendered into its files); defaults from vm-image.yaml. */
  cluster?: { controller: string; nodes: string[] };
  /** Package projects left out, as the plugin option imagesWithout asked (with the scripts that need them). */
  without?: string[];
  outputPath?: string;
  /** Minutes for the whole Packer build (QEMU is killed after it). */
  timeoutMinutes?: number;
  /** Minutes Packer waits for SSH; default 5 under KVM, 20 under TCG. */
  sshTimeoutMinutes?: number;
}

/** The disk an image starts from: its own base disk, or the image of the project named in `from`. */
export function baseDiskOf(def: VmImageDefinition, context: ExecutorContext): { manifest: string; target: string } {
  if (def.baseDisk) return { manifest: join(context.root, 'dist', projectRootOf(context), 'base', BASE_DISK_MANIFEST), target: `${context.projectName}:base-disk` };
  const from = context.projectsConfigurations?.projects[def.from as string];
  if (!from) throw new PharosError(`"from" names ${def.from}, which is not a project`, { step: taskLabel(context), next: 'name an image project under packer/' });
  return { manifest: join(context.root, 'dist', from.root, VM_IMAGE_MANIFEST), target: `${def.from}:image` };
}

/**
 * `packer build` of the project's template from its base disk, under the accelerator that really works here, with the
 * cloud-init seed (cd_files, label cidata) carrying the workspace key. Product: `<name>.qcow2` (compressed), Packer's
 * manifest, a sha256 file and vm-image.json, renamed into dist/ only when the whole build succeeded.
 */
export default async function packerImageExecutor(options: PackerImageOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const name = context.projectName as string;
    const projectDir = join(context.root, projectRootOf(context));
    const definitionFile = workspacePath(options.definition, context);
    const without = options.without ?? [];
    const def = withoutProjects(parseVmImageDefinition(readFileSync(definitionFile, 'utf8'), relative(context.root, definitionFile)), without);
    if (without.length) process.stdout.write(`pharos: ${name} is built WITHOUT ${without.join(', ')} (imagesWithout in nx.json): their packages and the scripts that need them are left out\n`);
    const outputDir = workspacePath(options.outputPath ?? 'dist/{projectRoot}', context);
    const products = [`${name}.qcow2`, `${name}.qcow2.sha256`, 'packer-manifest.json', VM_IMAGE_MANIFEST].map((f) => join(outputDir, f));
    await removeProducts(products);

    const base = baseDiskOf(def, context);
    let baseRecord: { file: string; sha256: string };
    try {
      baseRecord = JSON.parse(readFileSync(base.manifest, 'utf8'));
    } catch {
      throw new PharosError('no base disk to start from', { file: relative(context.root, base.manifest), next: `build it: npx nx run ${base.target}` });
    }
    const baseDisk = join(base.manifest, '..', baseRecord.file);
    await assertFileDigest(baseDisk, baseRecord.sha256, { what: baseRecord.file, shown: relative(context.root, baseDisk), rebuild: `npx nx run ${base.target} --skip-nx-cache` });

    const version = await packerVersion();
    const accelerator = await detectAccelerator(baseDisk, (t) => process.stdout.write(`pharos: ${t}`));
    const key = await workspaceKeypair(context.root);
    const scratch = join(context.root, 'tmp', 'packer', `${name}-${randomUUID().slice(0, 8)}`);
    const logs = join(context.root, 'tmp', 'logs');
    await mkdir(logs, { recursive: true });
    const serialLog = join(logs, `${name}-image-serial.log`);
    const buildLog = join(logs, `${name}-image.log`);
    const removeScratch = onInterrupt(() => rm(scratch, { recursive: true, force: true }));
    try {
      const staged = stageTemplate({
        projectDir, workspaceRoot: context.root, def, dir: scratch, packerVersion: version,
        seed: { instanceId: `pharos-build-${randomUUID()}`, hostname: name, sshPublicKey: key.publicKey },
      });
      const upload = join(scratch, 'upload');
      await mkdir(upload, { recursive: true });
      const debs = await stageDebs(upload, def, context, label);
      renderFiles(upload, projectDir, context.root, def, { name, suite: def.suite, cluster: options.cluster ?? def.cluster });
      if (debs.length) process.stdout.write(`pharos: uploading ${debs.length} .debs: ${debs.join(' ')}\n`);
      const vars = templateVars({
        name, def, scratch, upload, baseImage: baseDisk, baseSha256: baseRecord.sha256, accelerator, privateKey: key.privateKey,
        sshTimeoutMinutes: options.sshTimeoutMinutes ?? (accelerator === 'kvm' ? 5 : 20),
        seedFiles: staged.seedFiles, serialLog, provisionScripts: provisionScripts(projectDir, context.root, def),
      });
      await packerValidate(scratch, vars, staged.sourceOf);
      process.stdout.write(`pharos: packer ${version} build of ${name} (${accelerator}); full log: ${relative(context.root, buildLog)}, serial console: ${relative(context.root, serialLog)}\n`);
      const log = createWriteStream(buildLog);
      const built = await packerBuild({
        dir: scratch,
        vars,
        timeoutMs: (options.timeoutMinutes ?? 60) * 60_000,
        onOutput: (chunk) => {
          log.write(chunk);
          process.stdout.write(chunk);
        },
      }).finally(() => new Promise<void>((r) => log.end(r)));
      if (built.exitCode !== 0) throw buildError(built.output, built.timedOut, options.timeoutMinutes ?? 60, { label, serialLog, buildLog, context });

      const qcow2 = join(scratch, 'out', `${name}.qcow2`);
      const sha256 = await sha256File(qcow2);
      // File by file (the base disk shares the folder), each renamed into place, the manifest last; on any failure the
      // products written so far are removed again.
      await mkdir(outputDir, { recursive: true });
      try {
        await writeAtomically(join(outputDir, `${name}.qcow2`), (tmp) => rename(qcow2, tmp));
        await writeAtomically(join(outputDir, `${name}.qcow2.sha256`), (tmp) => writeFile(tmp, `${sha256}  ${name}.qcow2\n`));
        await writeAtomically(join(outputDir, 'packer-manifest.json'), (tmp) => rename(join(scratch, 'out', 'packer-manifest.json'), tmp));
        const manifest: VmImageManifest = {
          schema: 1, project: name, suite: def.suite, file: `${name}.qcow2`, sha256, bytes: statSync(join(outputDir, `${name}.qcow2`)).size,
          base: { file: baseRecord.file, sha256: baseRecord.sha256 }, packer: version, qemu: await qemuVersion(), accelerator, without,
        };
        await writeAtomically(join(outputDir, VM_IMAGE_MANIFEST), (tmp) => writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`));
      } catch (err) {
        await removeProducts(products);
        throw err;
      }
      process.stdout.write(`pharos: ${relative(context.root, join(outputDir, `${name}.qcow2`))} (sha256 ${sha256.slice(0, 16)}…)\n`);
    } finally {
      await removeScratch();
    }
  });
}

function buildError(output: string, timedOut: boolean, minutes: number, at: { label: string; serialLog: string; buildLog: string; context: ExecutorContext }): PharosError {
  const shown = (p: string) => relative(at.context.root, p);
  const tail = output.trim().split('\n').slice(-15);
  const failure = diagnosePackerBuild(output);
  if (timedOut) return new PharosError(`packer build did not finish in ${minutes} minutes; it and its VM were stopped`, { step: at.label, tail, next: `read the serial console log ${shown(at.serialLog)} and ${shown(at.buildLog)}` });
  if (failure.kind === 'provisioner') {
    return new PharosError(`provisioning script ${relative(at.context.root, failure.script)} exited with code ${failure.exitCode}`, {
      file: relative(at.context.root, failure.script), step: at.label, tail, next: `fix the script; the guest's serial console is in ${shown(at.serialLog)}, Packer's output in ${shown(at.buildLog)}`,
    });
  }
  if (failure.kind === 'ssh-auth') {
    return new PharosError('the VM refused the workspace SSH key', { step: at.label, tail, next: `the seed's user-data must give admin the key in .pharos/ssh/id_ed25519.pub; the guest's serial console is in ${shown(at.serialLog)}` });
  }
  if (failure.kind === 'ssh-timeout') {
    return new PharosError('the VM never answered SSH', { step: at.label, tail, next: `read the serial console log ${shown(at.serialLog)} (boot, cloud-init seed, sshd)` });
  }
  return new PharosError('packer build failed', { step: at.label, tail, next: `read ${shown(at.buildLog)} and the serial console log ${shown(at.serialLog)}` });
}
