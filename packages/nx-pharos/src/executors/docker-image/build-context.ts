import { existsSync, readdirSync } from 'node:fs';
import { chmod, copyFile, cp, link, lstat, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import type { ContainerArtifact } from '../../definitions/container';
import { assertBlobPresent } from '../../products/store-files';
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
 * Where the builder finds the Dockerfile in the staged context: at its own place when it lies in the context folder,
 * else at the top under a name of ours (the builder reads only files inside the context).
 */
export function stagedDockerfilePath(contextDir: string, dockerfile: string): string {
  const rel = relative(contextDir, dockerfile);
  return rel.startsWith('..') || isAbsolute(rel) ? '.pharos.Dockerfile' : rel;
}

export interface StageRequest {
  contextDir: string;
  dockerfile: string;
  /** What the builder reads as the Dockerfile: the user's with its FROM images pinned by ID. */
  dockerfileText: string;
  artifacts: ContainerArtifact[];
  workspaceRoot: string;
  log: (t: string) => void;
}

/**
 * One artifact into the context. A product file is hard-linked (a few hundred MB of .debs should not be copied twice).
 * One kept in the store is copied by its blob, and given a product file's usual mode: the blob is read-only (0444), and
 * COPY keeps the context's modes, so linking it would make the image depend on the store's threshold.
 */
async function stageArtifact(product: string, dest: string): Promise<void> {
  if (!(await lstat(product)).isSymbolicLink()) {
    await link(product, dest).catch(() => copyFile(product, dest));
    return;
  }
  await copyFile(await realpath(product), dest);
  await chmod(dest, 0o644);
}

/**
 * A temporary build context: the context folder, the pinned Dockerfile in place of the user's (whose file is never
 * edited), and each artifact under its `into` folder (stageArtifact), and the folder is removed afterwards, also on
 * Ctrl-C.
 */
export async function stageBuildContext(req: StageRequest): Promise<{ dir: string; dockerfile: string; dispose: () => Promise<void> }> {
  const dir = join(tmpdir(), ownedName('pharos-context'));
  await mkdir(dir);
  const dispose = onInterrupt(() => rm(dir, { recursive: true, force: true }));
  try {
    await cp(req.contextDir, dir, { recursive: true });
    const dockerfile = stagedDockerfilePath(req.contextDir, req.dockerfile);
    // Removed first: the copy may be a symbolic link, and writing through it would edit the user's file.
    await rm(join(dir, dockerfile), { force: true });
    await writeFile(join(dir, dockerfile), req.dockerfileText);
    for (const artifact of req.artifacts) {
      const files = expandArtifactFiles(req.workspaceRoot, artifact);
      const into = join(dir, artifact.into);
      await mkdir(into, { recursive: true });
      for (const file of files) {
        const dest = join(into, basename(file));
        const rebuild = `npx nx run ${artifact.project}:${artifact.target} --skip-nx-cache`;
        await assertBlobPresent(join(req.workspaceRoot, file), {}, { shown: file, rebuild });
        await stageArtifact(join(req.workspaceRoot, file), dest);
      }
      req.log(`pharos: ${files.length} file(s) of ${artifact.project}:${artifact.target} in the build context at ${artifact.into}/\n`);
    }
    return { dir, dockerfile, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
