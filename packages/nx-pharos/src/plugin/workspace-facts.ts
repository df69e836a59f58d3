import { basename, dirname } from 'node:path';
import { parseBaseImageDefinition } from '../definitions/base-image';
import { parseSourceRecipe } from '../definitions/source-recipe';
import { isApplicationContainer } from './infer-container';
import { dockerImageTag, projectName } from './target-inputs';

/** A package project (a recipe.yaml folder) as other projects need it: where it lives and the release it builds. */
export interface PackageProject {
  root: string;
  release: string;
}

/** What one project's inference needs to know about the others; all definition files arrive together. */
export interface WorkspaceFacts {
  /** Image tag → the project that produces it. */
  producers: Map<string, string>;
  /** The Debian suites the base-image.yaml projects produce, sorted. */
  suites: string[];
  packages: Record<string, PackageProject>;
  /** Application container projects (those with a SIF) → their root. */
  containers: Record<string, string>;
}

/** A definition that does not parse is left out here; its own inference reports it. */
function parsedOrUndefined<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

export function workspaceFacts(files: readonly string[], read: (file: string) => string): WorkspaceFacts {
  const facts: WorkspaceFacts = { producers: new Map(), suites: [], packages: {}, containers: {} };
  for (const file of files) {
    const root = dirname(file);
    const name = projectName(root);
    switch (basename(file)) {
      case 'Dockerfile':
        facts.producers.set(dockerImageTag(name), name);
        if (isApplicationContainer(file)) facts.containers[name] = root;
        break;
      case 'base-image.yaml': {
        const def = parsedOrUndefined(() => parseBaseImageDefinition(read(file), file));
        if (!def) break;
        facts.producers.set(def.tag, name);
        if (!facts.suites.includes(def.suite)) facts.suites.push(def.suite);
        break;
      }
      case 'recipe.yaml': {
        const recipe = parsedOrUndefined(() => parseSourceRecipe(read(file), file));
        if (recipe) facts.packages[name] = { root, release: recipe.defaultVersion };
        break;
      }
    }
  }
  facts.suites.sort();
  return facts;
}
