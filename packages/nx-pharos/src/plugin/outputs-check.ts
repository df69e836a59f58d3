import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { posix } from 'node:path';

/**
 * No two targets may write the same path: Nx restores each target's cached outputs over the other's, so one product
 * would have two cache entries that differ in bytes (issue 12: `deb:bookworm` and `deb-bookworm`). Paths are compared
 * after Nx's own substitutions; a glob is taken as the folder before it, and one path inside another counts.
 */

/** One target (in one configuration) and a workspace-relative path it declares as output. */
export interface OutputClaim {
  /** `project:target`, or `project:target:configuration`. */
  owner: string;
  path: string;
}

export interface OutputOverlap {
  /** The claim whose path equals or contains the other's. */
  outer: OutputClaim;
  inner: OutputClaim;
}

const GLOB_OR_UNRESOLVED = /[*?[{]/;

function option(options: Record<string, unknown>, path: string): string | undefined {
  const value = path.split('.').reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), options);
  return value === undefined || value === null ? undefined : String(value);
}

/** An output as a workspace-relative path, with `{options.x}` from the target's options and the project's own tokens. */
export function resolveOutput(output: string, project: Pick<ProjectConfiguration, 'root' | 'name'>, options: Record<string, unknown>): string {
  const resolved = output
    .replace(/\{options\.([^}]+)\}/g, (token, path: string) => option(options, path) ?? token)
    .replace(/\{projectRoot\}/g, project.root)
    .replace(/\{projectName\}/g, project.name ?? '')
    .replace(/\{workspaceRoot\}\/?/g, '');
  const segments = posix
    .normalize(resolved)
    .split('/')
    .filter((s) => s && s !== '.');
  const glob = segments.findIndex((s) => GLOB_OR_UNRESOLVED.test(s));
  return (glob < 0 ? segments : segments.slice(0, glob)).join('/');
}

function targetClaims(project: ProjectConfiguration, targetName: string, target: TargetConfiguration): OutputClaim[] {
  const owner = `${project.name}:${targetName}`;
  const variants: Array<[string, Record<string, unknown>]> = [
    [owner, target.options ?? {}],
    ...Object.entries(target.configurations ?? {}).map(([name, config]): [string, Record<string, unknown>] => [
      `${owner}:${name}`,
      { ...target.options, ...config },
    ]),
  ];
  const claims = new Map<string, OutputClaim>();
  for (const [who, options] of variants) {
    for (const output of target.outputs ?? []) {
      if (output.startsWith('!')) continue;
      const path = resolveOutput(output, project, options);
      // A configuration that writes where the default does is the same claim.
      if (!claims.has(path)) claims.set(path, { owner: who, path });
    }
  }
  return [...claims.values()];
}

export function outputClaims(projects: Record<string, ProjectConfiguration>): OutputClaim[] {
  return Object.values(projects).flatMap((project) => Object.entries(project.targets ?? {}).flatMap(([name, target]) => targetClaims(project, name, target)));
}

const targetOf = (owner: string) => owner.split(':').slice(0, 2).join(':');
const holds = (outer: string, inner: string) => outer === inner || outer === '' || inner.startsWith(`${outer}/`);

export function overlappingOutputs(projects: Record<string, ProjectConfiguration>): OutputOverlap[] {
  const claims = outputClaims(projects);
  const overlaps: OutputOverlap[] = [];
  claims.forEach((a, i) => {
    for (const b of claims.slice(i + 1)) {
      if (targetOf(a.owner) === targetOf(b.owner)) continue;
      if (holds(a.path, b.path)) overlaps.push({ outer: a, inner: b });
      else if (holds(b.path, a.path)) overlaps.push({ outer: b, inner: a });
    }
  });
  return overlaps;
}

export function describeOverlap({ outer, inner }: OutputOverlap): string {
  return outer.path === inner.path
    ? `${outer.owner} and ${inner.owner} both write ${outer.path || '.'}`
    : `${outer.owner} writes ${outer.path || '.'}, which holds ${inner.owner}'s output ${inner.path}`;
}

/** The error Nx shows when the graph has overlapping outputs. */
export function overlapError(overlaps: OutputOverlap[]): Error | undefined {
  if (!overlaps.length) return undefined;
  return new Error(
    [
      `pharos: ${overlaps.length === 1 ? 'two targets declare' : 'targets declare'} overlapping outputs; each cached restore of one would overwrite the other's product:`,
      ...overlaps.map((o) => `  ${describeOverlap(o)}`),
      '  next: give each product exactly one target (dependsOn the target that writes it), or give the outputs distinct paths',
    ].join('\n'),
  );
}

/**
 * Every target declares its outputs; one that makes no product declares none. Without `outputs` Nx takes
 * `dist/{projectRoot}` (among others) as the target's output, so a group such as `build` or a check such as `test`
 * would copy every product of the project (gigabytes of image archives) into its own cache entry, restore that older
 * copy over newer products on a hit, and take in whatever else is in the folder then (another run's product lock).
 */
export function withDeclaredOutputs<T extends Pick<ProjectConfiguration, 'targets'>>(project: T): T {
  const targets = Object.fromEntries(
    Object.entries(project.targets ?? {}).map(([name, target]): [string, TargetConfiguration] => [name, target.outputs ? target : { ...target, outputs: [] }]),
  );
  return { ...project, targets };
}
