import type { ExecutorContext } from '@nx/devkit';
import { join, relative } from 'node:path';
import { runExecutor } from '../../lib/team-store/install';
import { normalizeVmImageOptions, type VmImageOptions } from '../../lib/vm-image/normalize-options';
import { packerValidate, packerVersion } from '../../tools/packer';
import { ed25519Keypair } from '../../tools/ssh-key';
import { inPackerScratch, provisionScripts, stageTemplate, templateVars } from '../../lib/vm-image/stage';

export type PackerValidateOptions = Pick<VmImageOptions, 'definition'>;

/**
 * `packer validate` of the staged template (with the generated `packer {}` file and a rendered seed) against a scratch
 * output directory that does not exist, so it never meets a built image. Errors name the template file and line.
 */
export default async function packerValidateExecutor(options: PackerValidateOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const { name, projectDir, def, sshTimeoutMinutes, provisionTimeoutMinutes } = normalizeVmImageOptions(options, context);
    await inPackerScratch(context.root, `${name}-validate`, async (scratch) => {
      const version = await packerVersion();
      // Packer reads the key file; validation gets a throwaway one, never the workspace key.
      await ed25519Keypair(join(scratch, 'id_ed25519'));
      const seed = { instanceId: 'validate', hostname: 'validate', sshPublicKey: 'ssh-ed25519 AAAA validate' };
      const staged = stageTemplate({ projectDir, workspaceRoot: context.root, def }, scratch, version, seed);
      // Placeholders where a build has real values: validation checks the template, not a base disk or a key.
      await packerValidate(
        scratch,
        templateVars({
          name,
          def,
          scratch,
          upload: scratch,
          baseImage: join(scratch, 'base.qcow2'),
          baseSha256: '0'.repeat(64),
          accelerator: 'tcg',
          privateKey: join(scratch, 'id_ed25519'),
          sshTimeoutMinutes: sshTimeoutMinutes('tcg'),
          provisionTimeoutMinutes,
          seedFiles: staged.seedFiles,
          serialLog: join(scratch, 'serial.log'),
          provisionScripts: provisionScripts(projectDir, context.root, def),
        }),
        staged.sourceOf,
      );
      process.stdout.write(`pharos: ${relative(context.root, join(projectDir, def.template))} is valid for Packer ${version}\n`);
    });
  });
}
