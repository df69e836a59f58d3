#!/usr/bin/env node
// Command-line entry to the plugin's TypeScript source, with no build step: used by tools/run-in-dev-container and by
// Nx runtime inputs (so a cache key is computed by the same code that does the work).
require('@swc-node/register');
require('../src/cli.ts').main(process.argv.slice(2));
