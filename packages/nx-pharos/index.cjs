// The plugin's entry for Nx (package.json "main"). Nx compiles a plugin whose entry is a .ts file through its own
// transpiler, which loads the TypeScript compiler into every plugin worker (a quarter of a second of each Nx command
// without the daemon); a .cjs entry is required as it is, and require-ts.cjs compiles the source from its cache.
require('./require-ts.cjs').register();
module.exports = require('./src/index.ts');
