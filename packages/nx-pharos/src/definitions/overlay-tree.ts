import { PharosError } from '../utils/errors';
import { parseApptainerDefinition, type ApptainerDefinition } from './apptainer-definition';
import { parseBuildScript, type BuildScript, type DepRequirement } from './build-script';
import { resolveOverlayGraph, type OverlayGraph } from './overlay-graph';
import { overlayKey, overlayPathClashes, parseOverlayPath, type OverlayPath } from './overlay-path';

/**
 * Every overlay build script of the tree read together, and the #DEP graph resolved once over them: what inference
 * makes projects of and what `pharos avail`/`info` show. Pure: the script paths and a reader in, facts out. A problem of
 * one script (its path, its header, one of its #DEP lines, a cycle it is in) is kept with that script, so the others
 * are still judged on their own lines.
 */

export interface ScriptFacts {
  path?: OverlayPath;
  script?: BuildScript;
  /** A `.def` file's (plugin/infer-def-image.ts). */
  definition?: ApptainerDefinition;
  errors: PharosError[];
}

export interface OverlayScripts {
  /** By the file's workspace-relative path: build scripts and `.def` files. */
  scripts: Map<string, ScriptFacts>;
  graph: OverlayGraph;
}

function errorOf(err: unknown): PharosError {
  return err instanceof PharosError ? err : new PharosError((err as Error).message);
}

/**
 * A script that does not parse still provides its name/version, so the scripts that #DEP on it are judged on their own
 * lines. A `.def` is in the tree for its name (two files may not make one project) but builds no overlay, so a #DEP on
 * it is an error of its own.
 */
export function readOverlayScripts(files: readonly string[], read: (file: string) => string): OverlayScripts {
  const facts = new Map<string, ScriptFacts>();
  const paths: OverlayPath[] = [];
  for (const file of files) {
    const entry: ScriptFacts = { errors: [] };
    facts.set(file, entry);
    try {
      entry.path = parseOverlayPath(file);
      paths.push(entry.path);
      if (entry.path.kind === 'def') entry.definition = parseApptainerDefinition(read(file), file);
      else entry.script = parseBuildScript(read(file), file);
    } catch (err) {
      entry.errors.push(errorOf(err));
    }
  }
  for (const clash of overlayPathClashes(paths)) facts.get(clash.details.file as string)?.errors.push(clash);
  const images = new Map(paths.filter((p) => p.kind === 'def').map((p) => [p.key, p.file]));
  const imageOf = (d: DepRequirement) => (d.range ? undefined : images.get(overlayKey(d.name, d.version)));
  const nodes = paths
    .filter((p) => p.kind === 'script')
    .map((p) => {
      const entry = facts.get(p.file) as ScriptFacts;
      const deps = entry.script?.deps ?? [];
      for (const dep of deps.filter(imageOf)) {
        entry.errors.push(
          new PharosError(`#DEP:${dep.text}: ${imageOf(dep)} is an Apptainer image, not an overlay a build can mount`, {
            file: p.file,
            line: dep.line,
            next: 'build on it with Bootstrap: localimage in a .def, or #DEP on a build script (.sh)',
          }),
        );
      }
      return { name: p.name, version: p.version, file: p.file, deps: deps.filter((d) => !imageOf(d)) };
    });
  const graph = resolveOverlayGraph(nodes);
  for (const err of graph.errors) facts.get(err.details.file as string)?.errors.push(err);
  return { scripts: facts, graph };
}
