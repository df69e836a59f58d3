// @ts-check
/**
 * The plugin's layers (issue 12's house plan; docs/architecture.md): imports run one way, from the entries (index.ts,
 * cli.ts) down to utils/. `npm run lint:layers` checks packages/nx-pharos/src against them.
 *
 *   utils       -> nothing of ours
 *   definitions -> utils
 *   products    -> utils, definitions
 *   tools       -> utils, definitions, products
 *   lib         -> utils, definitions, products, tools
 *   executors/x -> utils, definitions, products, tools, lib   (never another executors/y, never plugin/)
 *   plugin      -> utils, definitions, products
 *   generators  -> anything but executors;  cli.ts -> anything
 *   testing/    -> helpers for specs only (shell stubs, parse errors); no production module imports it
 *   specs (*.spec.ts) drive modules of any layer together, so the layer rules bind production code only; a spec may
 *   import src/testing/ and e2e/harness.ts, never the other e2e/ files.
 *
 * Paths match at any depth ending in src/<layer>/ (`(?:^|/)src/`), so the same rules hold for packages/nx-pharos/src
 * and for the small fixture tree layers.spec.ts builds to prove them.
 */
const SRC = '(?:^|/)src/';
const ours = (...layers) => `${SRC}(?:${layers.join('|')})/`;
const SPEC = '\\.spec\\.ts$';

/** A rule that `from` may import nothing in src/ outside `allowed` (its own layer included). */
function onlyDown(name, layer, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: ours(layer), pathNot: SPEC },
    to: { path: SRC, pathNot: ours(layer, ...allowed) },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    onlyDown(
      'utils-imports-nothing-of-ours',
      'utils',
      [],
      'a utils/ module must not import any other folder of src/ — it is the bottom layer; ' +
        'pass the value in as an argument, or move the code that needs it up to where it is used.',
    ),
    onlyDown(
      'definitions-not-up',
      'definitions',
      ['utils'],
      'a definitions/ parser may import only utils/ — a parser reads a file and nothing else; ' +
        'move what it needs from products/, tools/ or above down to utils/, or let the caller do it.',
    ),
    onlyDown(
      'products-not-up',
      'products',
      ['utils', 'definitions'],
      'a products/ module may import only utils/ and definitions/ — it names and reads files in dist/; ' +
        'move the shared code down to utils/ or definitions/, or have a tool or executor pass the value in.',
    ),
    onlyDown(
      'tools-not-up',
      'tools',
      ['utils', 'definitions', 'products'],
      'a tools/ module must not import lib/, executors/, plugin/, generators/ or the entries (index.ts, cli.ts) — ' +
        'move the shared code down to products/ or definitions/.',
    ),
    onlyDown(
      'lib-not-up',
      'lib',
      ['utils', 'definitions', 'products', 'tools'],
      'a lib/<family>/ module must not import executors/, plugin/, generators/ or the entries (index.ts, cli.ts) — ' +
        'it is what an executor family shares; move the code the executor and lib/ both need into lib/ or lower.',
    ),
    onlyDown(
      'executors-not-up',
      'executors',
      ['utils', 'definitions', 'products', 'tools', 'lib'],
      'an executor must not import plugin/, generators/ or the entries (index.ts, cli.ts) — ' +
        'move what the executor and the plugin share (names, defaults, paths) down to definitions/ or products/.',
    ),
    {
      name: 'executors-not-sideways',
      comment:
        'executors/<x> must not import executors/<y> — move what both need into lib/<family>/ ' +
        "(or products/ for a product's names and paths) and import it from there.",
      severity: 'error',
      from: { path: `${SRC}executors/([^/]+)/`, pathNot: SPEC },
      to: { path: `${SRC}executors/`, pathNot: `${SRC}executors/$1/` },
    },
    onlyDown(
      'plugin-not-into-tools-lib-executors',
      'plugin',
      ['utils', 'definitions', 'products'],
      'plugin/ may import only utils/, definitions/ and products/ — inference reads ' +
        'files and names products; it must not run tools or load executors. Move the shared constant or type to ' +
        'definitions/ or products/.',
    ),
    {
      name: 'generators-not-executors',
      comment: 'a generator must not import an executor — move what both need into definitions/, ' + 'products/ or lib/.',
      severity: 'error',
      from: { path: `${SRC}generators/`, pathNot: SPEC },
      to: { path: `${SRC}executors/` },
    },
    {
      name: 'no-test-helpers-in-production',
      comment: 'only a *.spec.ts may import src/testing/ or e2e/ — production code must not depend on test helpers; ' + 'move what both need into src/.',
      severity: 'error',
      from: { path: SRC, pathNot: SPEC },
      to: { path: `(?:^|/)e2e/|${SRC}testing/` },
    },
    {
      name: 'specs-import-only-the-harness',
      comment:
        'a spec in src/ may import from e2e/ only e2e/harness.ts — the other e2e files are ' +
        'whole-workspace tests; move the helper you need into src/testing/ (no Docker) or e2e/harness.ts.',
      severity: 'error',
      from: { path: `${SRC}.*\\.spec\\.ts$` },
      to: { path: '(?:^|/)e2e/', pathNot: '(?:^|/)e2e/harness\\.ts$' },
    },
    {
      name: 'no-circular',
      comment:
        'this import closes a cycle — modules in a cycle load in an order that depends on who is imported ' +
        'first; move the shared part into a lower module both import.',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'this import resolves to no file, so the layer rules cannot see where it goes — fix the path ' + '(or add the package to package.json).',
      severity: 'error',
      from: { path: SRC },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(?:^|/)(?:node_modules|dist|tmp)/' },
    // Type-only imports count: a type from plugin/ in a tool is still the tool knowing about the plugin.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json', '.d.ts'] },
  },
};
