import type { NormalizedDefImageOptions } from '../../lib/overlay/def-image';
import { shownPath } from '../../lib/overlay/normalize-options';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApptainerRunner } from '../../tools/apptainer';
import { buildFromDefinitionArgv, subordinateIdsFor, unprivilegedBuildRefusal } from '../../tools/apptainer-definition';
import { writeAtomically } from '../../utils/atomic-file';
import { onInterrupt } from '../../utils/cleanup';
import { ownedName } from '../../utils/leftovers';
import { buildLog } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';

const TAIL_LINES = 25;

/**
 * `apptainer build` of the definition into the product's SIF, written to a temporary sibling and renamed only when
 * the build succeeded. The whole output goes to the log; a host that refuses the unprivileged build is named as such.
 */
export async function buildDefinition(apptainer: ApptainerRunner, o: NormalizedDefImageOptions, squashfs: string, logFile: string): Promise<void> {
  // The subordinate ids of the user the dev container runs as, in a scratch folder named for its owner (so the next
  // run removes it after a kill -9).
  const scratch = join(o.workspaceRoot, 'tmp', 'def-sif', ownedName(o.project));
  const removeScratch = onInterrupt(() => rm(scratch, { recursive: true, force: true }));
  try {
    await mkdir(scratch, { recursive: true });
    const subordinateIds = join(scratch, 'subid');
    await writeFile(subordinateIds, subordinateIdsFor(process.getuid?.() ?? 0));
    await build(apptainer, o, squashfs, logFile, subordinateIds);
  } finally {
    await removeScratch();
  }
}

async function build(apptainer: ApptainerRunner, o: NormalizedDefImageOptions, squashfs: string, logFile: string, subordinateIds: string): Promise<void> {
  await writeAtomically(o.products.sif, async (tmp) => {
    const log = buildLog(logFile, (line) => process.stdout.write(`${line}\n`));
    let exitCode: number;
    try {
      const argv = buildFromDefinitionArgv(tmp, o.shownDefinition, squashfs);
      ({ exitCode } = await apptainer.run({
        argv,
        fuse: true,
        network: 'none',
        userNamespaceBuild: { subordinateIds },
        echo: log.stream,
        what: `apptainer build of ${o.shownDefinition}`,
      }));
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
      next: refusal?.next ?? `read the full log, ${shownPath(o, logFile)}; %post runs as root of a user namespace, without network`,
    });
  });
}
