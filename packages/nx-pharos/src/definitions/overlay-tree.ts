import { PharosError } from '../utils/errors';
import { parseBuildScript, type BuildScript } from './build-script';
import { resolveOverlayGraph, type OverlayGraph } from './overlay-graph';
import { overlayPathClashes, parseOverlayPath, type OverlayPath } from './overlay-path';

/**
 * Every overlay build script of the tree read together, and the #DEP graph resolved once over them: what inference
 * makes projects of and what `pharos list`/`info` show. Pure: the script paths and a reader in, facts out. A problem of
 * one script (its path, its header, one of its #DEP lines, a cycle it is in) is kept with that script, so the others
 * are still judged on their own lines.
 */

export interface ScriptFacts {
  path?: OverlayPath;
  script?: BuildScript;
  errors: PharosError[];
}

export interface OverlayScripts {
  /** By the script's workspace-relative path. */
  scripts: Map<string, ScriptFacts>;
  graph: OverlayGraph;
}

function errorOf(err: unknown): PharosError {
  return err instanceof PharosError ? err : new PharosError((err as Error).message);
}

/** A script that does not parse still provides its name/version, so the scripts that #DEP on it are judged on their own lines. */
export function readOverlayScripts(scripts: readonly string[], read: (file: string) => string): OverlayScripts {
  const facts = new Map<string, ScriptFacts>();
  const paths: OverlayPath[] = [];
  for (const file of scripts) {
    const entry: ScriptFacts = { errors: [] };
    facts.set(file, entry);
    try {
      entry.path = parseOverlayPath(file);
      paths.push(entry.path);
      entry.script = parseBuildScript(read(file), file);
    } catch (err) {
      entry.errors.push(errorOf(err));
    }
  }
  for (const clash of overlayPathClashes(paths)) facts.get(clash.details.file as string)?.errors.push(clash);
  const graph = resolveOverlayGraph(paths.map((p) => ({ name: p.name, version: p.version, file: p.file, deps: facts.get(p.file)?.script?.deps ?? [] })));
  for (const err of graph.errors) facts.get(err.details.file as string)?.errors.push(err);
  return { scripts: facts, graph };
}
