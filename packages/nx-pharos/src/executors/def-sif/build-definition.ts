import type { NormalizedDefImageOptions } from '../../lib/overlay/def-image';
import { shownPath } from '../../lib/overlay/normalize-options';
import type { Apptainer } from '../../tools/apptainer';
import { buildFromDefinitionArgv, unprivilegedBuildRefusal } from '../../tools/apptainer-definition';
import { writeAtomically } from '../../utils/atomic-file';
import { buildLog } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';

const TAIL_LINES = 25;

/**
 * `apptainer build` of the definition into the product's SIF, written to a temporary sibling and renamed only when
 * the build succeeded. The whole output goes to the log; a host that refuses the unprivileged build is named as such.
 */
export async function buildDefinition(apptainer: Apptainer, o: NormalizedDefImageOptions, squashfs: string, logFile: string): Promise<void> {
  await writeAtomically(o.products.sif, async (tmp) => {
    const log = buildLog(logFile, (line) => process.stdout.write(`${line}\n`));
    let exitCode: number;
    try {
      const argv = buildFromDefinitionArgv(tmp, o.shownDefinition, squashfs);
      ({ exitCode } = await apptainer.run({ argv, fuse: true, network: 'none', echo: log.stream, what: `apptainer build of ${o.shownDefinition}` }));
    } finally {
      await log.close();
    }
    if (exitCode === 0) return;
    const output = log.text();
    const refusal = unprivilegedBuildRefusal(output);
    throw new PharosError(refusal?.message ?? `apptainer build exited with code ${exitCode}`, {
      file: o.shownDefinition,
      step: `${o.label}: apptainer build`,
      tail: output.trim().split('\n').slice(-TAIL_LINES),
      next:
        refusal?.next ?? `read the full log, ${shownPath(o, logFile)}; %post runs as root in a user namespace (no other user exists there) and without network`,
    });
  });
}
