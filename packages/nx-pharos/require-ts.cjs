// Lets `require` load the plugin's TypeScript source with no build step, for the bin entries and for Nx's plugin worker
// (index.cjs). Not @swc-node/register: it requires the TypeScript compiler (to read a tsconfig) before it compiles
// anything, about 250 ms of a process that Nx starts several times a run for the runtime inputs of our targets.
//
// The same @swc/core compiles a module; its output is kept on disk, named by the digest of everything it depends on
// (the compiler's version, the options below, the file's path and its text), so a process whose modules are all
// cached never loads the compiler at all. Whatever goes wrong with that folder, the module is compiled anyway: a
// runtime input's output is a cache key, so nothing here ever writes to stdout or stderr.
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');

const SWC_PACKAGE = require.resolve('@swc/core/package.json');

/** tsconfig.base.json's emit (a spec holds them equal): ES2022 classes and fields, CommonJS with esModuleInterop. */
const OPTIONS = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true, transform: { useDefineForClassFields: true } },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
  inlineSourcesContent: false,
  swcrc: false,
  configFile: false,
};

/** node_modules/.cache/pharos-ts: npm ci starts it afresh, and it is never in the tree Nx hashes. */
const CACHE_DIR = join(SWC_PACKAGE, '../../../.cache/pharos-ts');
const SALT = `${JSON.parse(readFileSync(SWC_PACKAGE, 'utf8')).version}\0${JSON.stringify(OPTIONS)}`;

let swc;

/** The CommonJS that @swc/core makes of a TypeScript module, from the disk cache when it has been made before. */
function compile(source, filename, cacheDir = CACHE_DIR) {
  const key = createHash('sha256').update(`${SALT}\0${filename}\0${source}`).digest('hex');
  const cached = join(cacheDir, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    // Not made yet (or unreadable): compile it.
  }
  swc ??= require('@swc/core');
  const { code } = swc.transformSync(source, { ...OPTIONS, filename });
  try {
    // Another process may be writing the same entry: each writes its own file, and a rename is atomic.
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, cached);
  } catch {
    // A read-only node_modules (a container's mount) only costs the compile next time.
  }
  return code;
}

/** From here on, `require` of a .ts file (or of a path that names one without its extension) compiles it with compile(). */
function register() {
  Module._extensions['.ts'] = (module, filename) => module._compile(compile(readFileSync(filename, 'utf8'), filename), filename);
}

module.exports = { compile, OPTIONS, register };
