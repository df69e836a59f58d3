import { posix } from 'node:path';

/**
 * Where every product lives under dist/, relative to the workspace. `projectRoot` may be a real root
 * (`third-party/slurm`) or Nx's `{projectRoot}` token, and the other parts Nx's `{options.x}` tokens, so inference
 * (target outputs) and executors (files) spell each path once, here.
 */
export const DIST = 'dist';

export function productDir(projectRoot: string, ...parts: string[]): string {
  return posix.join(DIST, projectRoot, ...parts);
}

/** A third-party project's folder for one version: source.json, and a folder per suite and tarball build. */
export function releaseDir(projectRoot: string, release: string): string {
  return productDir(projectRoot, release);
}

export function debsDir(projectRoot: string, release: string, suite: string): string {
  return productDir(projectRoot, release, suite);
}

export function tarballDir(projectRoot: string, release: string, suite: string): string {
  return productDir(projectRoot, release, `tarball-${suite}`);
}

/** The same path as an Nx output (`{workspaceRoot}/dist/...`). */
export function asOutput(path: string): string {
  return `{workspaceRoot}/${path}`;
}
