import type { ExecutorContext } from '@nx/devkit';
import { join, relative } from 'node:path';
import { runExecutor } from '../../lib/team-store/install';
import { normalizeVmImageOptions, type VmImageOptions } from '../../lib/vm-image/normalize-options';
import { packerFmt } from '../../tools/packer';
import { PharosError } from '../../utils/errors';

export interface PackerFmtOptions extends Pick<VmImageOptions, 'definition'> {
  /** Report unformatted files and fail, without writing. */
  check?: boolean;
}

/** `packer fmt` of the project's template file only: formatting, never a build directory or a product in dist/. */
export default async function packerFmtExecutor(options: PackerFmtOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const { projectDir, def } = normalizeVmImageOptions(options, context);
    const template = join(projectDir, def.template);
    const r = await packerFmt(template, !!options.check);
    if (!r.ok) {
      throw new PharosError(options.check ? 'the template is not formatted' : `packer fmt failed: ${r.output.trim()}`, {
        file: relative(context.root, template),
        tail: r.output.trim().split('\n').slice(-20),
        next: `npx nx run ${context.projectName}:fmt`,
      });
    }
    process.stdout.write(`pharos: ${relative(context.root, template)} ${options.check ? 'is formatted' : 'formatted'}\n`);
  });
}
