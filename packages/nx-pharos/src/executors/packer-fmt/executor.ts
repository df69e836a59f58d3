import type { ExecutorContext } from '@nx/devkit';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseVmImageDefinition } from '../../plugin/vm-image-definition';
import { PACKER_ENV } from '../../tools/packer';
import { PharosError } from '../../utils/errors';
import { projectRootOf, runExecutor, workspacePath } from '../../utils/executor';

export interface PackerFmtOptions {
  definition: string;
  /** Report unformatted files and fail, without writing. */
  check?: boolean;
}

/** `packer fmt` of the project's template file only: formatting, never a build directory or a product in dist/. */
export default async function packerFmtExecutor(options: PackerFmtOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const definitionFile = workspacePath(options.definition, context);
    const def = parseVmImageDefinition(readFileSync(definitionFile, 'utf8'), relative(context.root, definitionFile));
    const template = join(context.root, projectRootOf(context), def.template);
    const r = await execa('packer', ['fmt', ...(options.check ? ['-check', '-diff'] : []), template], { cwd: dirname(template), reject: false, all: true, env: PACKER_ENV });
    if (r.exitCode !== 0) {
      throw new PharosError(options.check ? 'the template is not formatted' : `packer fmt failed: ${(r.all ?? '').trim()}`, {
        file: relative(context.root, template), tail: (r.all ?? '').trim().split('\n').slice(-20), next: `npx nx run ${context.projectName}:fmt`,
      });
    }
    process.stdout.write(`pharos: ${relative(context.root, template)} ${options.check ? 'is formatted' : 'formatted'}\n`);
  });
}
