import { PharosError } from '../utils/errors';
import { compareVersions, sortVersions } from '../utils/version-order';
import type { DepRequirement } from './build-script';
import { overlayKey } from './overlay-path';

/**
 * The `#DEP:` graph of the overlay tree. condatainer resolves a script's dependencies against whatever happens to be
 * installed; here they are resolved against the scripts in the tree, so the answer is the same on every machine and
 * each edge can be an Nx project dependency. Pure: the parsed scripts in, edges, an order and errors out. Errors are
 * returned, one per problem and each naming its script and line, so a caller can report each on its own project.
 */

export interface OverlayNode {
  name: string;
  version: string;
  /** The script, for errors. */
  file: string;
  deps: readonly DepRequirement[];
}

export interface OverlayEdge {
  /** `name/version` of the script with the `#DEP:`. */
  source: string;
  /** `name/version` it resolved to. */
  target: string;
  file: string;
  line: number;
  /** The `#DEP:` as written. */
  dep: string;
}

export interface OverlayGraph {
  /** One per source and target, from the first `#DEP:` that made it. */
  edges: OverlayEdge[];
  /** What each overlay's `#DEP:` lines resolved to, in the order written: the order its dependencies are mounted. */
  depsOf: Record<string, string[]>;
  /** Dependencies before dependents, ties by name then version. An overlay in or behind a cycle is left out. */
  order: string[];
  errors: PharosError[];
}

/**
 * The version a `#DEP:` resolves to among the versions of its name in the tree: the one named, or with a range the
 * newest from its minimum up to the one named. Undefined when none will do.
 */
export function resolveDependency(dep: Pick<DepRequirement, 'version' | 'range'>, versions: readonly string[]): string | undefined {
  if (!dep.range) return versions.includes(dep.version) ? dep.version : undefined;
  const { op, min } = dep.range;
  const fits = versions.filter((v) => {
    const fromMin = compareVersions(v, min);
    return (op === '>=' ? fromMin >= 0 : fromMin > 0) && compareVersions(v, dep.version) <= 0;
  });
  return sortVersions(fits).pop();
}

function byNameThenVersion(a: OverlayNode, b: OverlayNode): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return compareVersions(a.version, b.version) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
}

function unresolved(node: OverlayNode, dep: DepRequirement, versions: readonly string[]): PharosError {
  const at = { file: node.file, line: dep.line };
  const script = `containers/overlays/${dep.name}/${dep.version}.sh`;
  if (!versions.length) {
    return new PharosError(`#DEP:${dep.text}: no script provides ${dep.name} (there is no containers/overlays/${dep.name}/)`, {
      ...at,
      next: `add ${script}, or remove the #DEP`,
    });
  }
  const have = `the tree has ${dep.name} ${versions.join(', ')}`;
  if (!dep.range) {
    return new PharosError(`#DEP:${dep.text}: no script provides ${dep.name}/${dep.version}; ${have}`, {
      ...at,
      next: `add ${script}, or name a version the tree has`,
    });
  }
  const from = dep.range.op === '>=' ? `from ${dep.range.min}` : `above ${dep.range.min}`;
  return new PharosError(`#DEP:${dep.text}: no version of ${dep.name} ${from} up to ${dep.version} is in the tree; ${have}`, {
    ...at,
    next: `add ${script}, or widen the range to a version the tree has`,
  });
}

/** Each elementary cycle met by a depth-first walk, once, starting at its smallest member. */
function cycles(keys: readonly string[], depsOf: Record<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found = new Map<string, string[]>();
  const visit = (key: string) => {
    state.set(key, 'open');
    stack.push(key);
    for (const next of depsOf[key] ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.set(rotated.join('\n'), rotated);
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(key, 'done');
  };
  for (const key of keys) if (!state.has(key)) visit(key);
  return [...found.values()];
}

function cycleError(cycle: string[], edges: readonly OverlayEdge[]): PharosError {
  const links = cycle.map((key, n) => edges.find((e) => e.source === key && e.target === cycle[(n + 1) % cycle.length]) as OverlayEdge);
  return new PharosError(`#DEP cycle: ${[...cycle, cycle[0]].join(' → ')}`, {
    file: links[0].file,
    line: links[0].line,
    next: `an overlay cannot be built before itself; remove one of these #DEP lines: ${links.map((e) => `${e.file}:${e.line} #DEP:${e.dep}`).join(', ')}`,
  });
}

/** Resolves every `#DEP:` of the tree, and reports each one that names nothing in it, and each cycle. */
export function resolveOverlayGraph(nodes: readonly OverlayNode[]): OverlayGraph {
  const errors: PharosError[] = [];
  const sorted = [...nodes].sort(byNameThenVersion);
  const byKey = new Map<string, OverlayNode>();
  const versionsOf = new Map<string, string[]>();
  for (const node of sorted) {
    const key = overlayKey(node.name, node.version);
    const had = byKey.get(key);
    if (had) {
      errors.push(new PharosError(`${node.file} and ${had.file} are both ${key}`, { file: node.file, next: 'keep one: a #DEP names name/version' }));
      continue;
    }
    byKey.set(key, node);
    versionsOf.set(node.name, [...(versionsOf.get(node.name) ?? []), node.version]);
  }

  const edges: OverlayEdge[] = [];
  const depsOf: Record<string, string[]> = {};
  for (const [key, node] of byKey) {
    depsOf[key] = [];
    for (const dep of node.deps) {
      const versions = versionsOf.get(dep.name) ?? [];
      const version = resolveDependency(dep, versions);
      if (version === undefined) {
        errors.push(unresolved(node, dep, versions));
        continue;
      }
      const target = overlayKey(dep.name, version);
      if (depsOf[key].includes(target)) continue;
      depsOf[key].push(target);
      edges.push({ source: key, target, file: node.file, line: dep.line, dep: dep.text });
    }
  }

  const keys = [...byKey.keys()];
  for (const cycle of cycles(keys, depsOf)) errors.push(cycleError(cycle, edges));

  const order: string[] = [];
  const placed = new Set<string>();
  for (let progress = true; progress;) {
    progress = false;
    for (const key of keys) {
      if (!placed.has(key) && depsOf[key].every((d) => placed.has(d))) {
        order.push(key);
        placed.add(key);
        progress = true;
        break;
      }
    }
  }
  return { edges, depsOf, order, errors };
}

/** Every overlay `key` needs mounted, directly or through others, dependencies first; `key` itself left out. */
export function overlayClosure(graph: Pick<OverlayGraph, 'depsOf'>, key: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>([key]);
  const visit = (k: string) => {
    for (const dep of graph.depsOf[k] ?? []) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      visit(dep);
      out.push(dep);
    }
  };
  visit(key);
  return out;
}
