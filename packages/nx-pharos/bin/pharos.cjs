#!/usr/bin/env node
// Command-line entry to the plugin's TypeScript source, with no build step: used by tools/run-in-dev-container and by
// Nx runtime inputs (so a cache key is computed by the same code that does the work). Nx starts it several times a
// run, once per runtime input of each task it hashes: require-ts.cjs keeps that start close to node's own.
require('../require-ts.cjs').register();
require('../src/cli.ts').main(process.argv.slice(2));
