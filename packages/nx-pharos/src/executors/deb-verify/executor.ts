import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { INSTALL_DEBS_SCRIPT, checkBinds } from '../../lib/source-build/verify-products';
import { containerScript } from '../../lib/source-build/scripts';
import { normalizeOptions, type SourceBuildOptions } from '../../lib/source-build/normalize-options';
import { suiteEngine } from '../../lib/source-build/source-build';
import { runExecutor } from '../../lib/team-store/install';
import { builtPackages, verifiedDebs } from '../../products/debs';
import { storeToMount } from '../../products/store-files';
import { outputCollector, runContainer } from '../../tools/docker';
import { PharosError } from '../../utils/errors';
import { checkEnv, judgeCheckOutput } from './check-results';

export interface DebVerifyOptions extends Pick<SourceBuildOptions, 'recipe' | 'release' | 'debsPath'> {
  suite: string;
  products?: Array<'deb'>;
}

export const DEB_CHECKS_SCRIPT = join(__dirname, 'deb-checks.sh');

/**
 * Proves a recipe's .debs with the recipe's own `verify:` checks: installed with apt in a clean container of the suite
 * (their Depends resolve on the plain suite), then each check's command run there and judged like a container's.
 */
export default async function debVerifyExecutor(options: DebVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const build = normalizeOptions(options, context, 'verify-deb');
    const { recipe, recipeFile, release, suite, label } = build;
    const verify = recipe.verify;
    if (!verify)
      throw new PharosError(`${recipe.name} has no "verify:" section`, {
        file: recipeFile,
        step: label,
        next: 'add verify.checks to the recipe (docs/third-party.md)',
      });
    const packages = verify.packages ?? builtPackages(build.debsDir, context, build.debsProducer);
    const debFiles = await verifiedDebs(build.debsDir, packages, context, label, build.debsProducer);
    const { docker, base } = await suiteEngine(context, suite);
    process.stdout.write(`pharos: verifying the .debs of ${recipe.name} ${release} in a clean debian:${suite} with the checks of ${recipeFile}\n`);
    const run = containerScript(DEB_CHECKS_SCRIPT, debFiles, [INSTALL_DEBS_SCRIPT]);
    // stdout carries the results for judging; stderr is shown as it comes.
    const results = outputCollector();
    const shown = outputCollector(process.stderr);
    const exitCode = await runContainer(
      docker,
      {
        image: base.id,
        cmd: run.cmd,
        env: checkEnv(verify.checks),
        binds: checkBinds(`${build.debsDir}:/debs:ro`, run.binds, storeToMount()),
        labels: { 'org.pharos.verify': label },
        aptCache: true,
      },
      { stdout: results.stream, stderr: shown.stream },
    );
    const verdicts = judgeCheckOutput(verify.checks, results.text());
    for (const v of verdicts) process.stdout.write(`pharos-check: ${v.failure ? 'FAIL' : 'ok  '} ${v.name}\n`);
    const failed = verdicts.filter((v) => v.failure);
    if (exitCode !== 0 || failed.length) {
      throw new PharosError(
        failed.length ? `check failed: ${failed.map((v) => `"${v.name}": ${v.failure}`).join('; ')}` : `the install exited with code ${exitCode}`,
        {
          file: recipeFile,
          step: label,
          tail: shown.text().trim().split('\n').slice(-20),
          next: `fix the package or the check under verify.checks of ${recipeFile}, then run nx run ${label} again`,
        },
      );
    }
  });
}
