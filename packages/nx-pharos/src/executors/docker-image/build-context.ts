import { existsSync, readdirSync } from 'node:fs';
import { copyFile, cp, link, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ContainerArtifact } from '../../definitions/container';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { ownedName } from '../../utils/leftovers';

/** `*` and `?` in the last path segment, the subset that means the same to us and to Nx's output globs. */
export function matchesSegment(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
  return re.test(name);
}

/** The files one artifact entry names, workspace-relative; an error names the pattern that matched nothing. */
export function expandArtifactFiles(workspaceRoot: string, artifact: ContainerArtifact): string[] {
  const found: string[] = [];
  for (const pattern of artifact.files) {
    const dir = dirname(pattern);
    const leaf = basename(pattern);
    if (dir.includes('*') || dir.includes('?')) {
      throw new PharosError(`artifact pattern ${pattern}: wildcards are allowed only in the file name`, { step: 'collect artifacts' });
    }
    const abs = join(workspaceRoot, dir);
    const names = existsSync(abs)
      ? readdirSync(abs)
          .filter((n) => matchesSegment(leaf, n))
          .sort()
      : [];
    if (!names.length) {
      throw new PharosError(`artifact ${pattern} of ${artifact.project}:${artifact.target} matched no file`, {
        step: 'collect artifacts',
        next: `run \`npx nx run ${artifact.project}:${artifact.target}\` and check that it writes ${pattern}`,
      });
    }
    found.push(...names.map((n) => join(dir, n)));
  }
  return found;
}

/**
 * A temporary build context: the project folder plus each artifact under its `into` folder. Files are hard-linked
 * when they can be (a few hundred MB of .debs should not be copied twice), and the folder is removed afterwards,
 * also on Ctrl-C.
 */
export async function buildContextWithArtifacts(
  projectDir: string,
  artifacts: ContainerArtifact[],
  workspaceRoot: string,
  log: (t: string) => void,
): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const dir = join(tmpdir(), ownedName('pharos-context'));
  await mkdir(dir);
  const dispose = onInterrupt(() => rm(dir, { recursive: true, force: true }));
  try {
    await cp(projectDir, dir, { recursive: true });
    for (const artifact of artifacts) {
      const files = expandArtifactFiles(workspaceRoot, artifact);
      const into = join(dir, artifact.into);
      await mkdir(into, { recursive: true });
      for (const file of files) {
        const dest = join(into, basename(file));
        await link(join(workspaceRoot, file), dest).catch(() => copyFile(join(workspaceRoot, file), dest));
      }
      log(`pharos: ${files.length} file(s) of ${artifact.project}:${artifact.target} in the build context at ${artifact.into}/\n`);
    }
    return { dir, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
