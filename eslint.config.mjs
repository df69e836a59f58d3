// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * typescript-eslint's recommended rules without type information, so `npm run lint` stays a few seconds on the whole
 * tree. Rules are tuned only where they fight a deliberate style, never to hide a finding.
 */
export default defineConfig(
  globalIgnores(['**/dist/', '**/tmp/', '**/.nx/', '**/node_modules/', 'packages/*/e2e/fixtures/']),
  {
    files: ['packages/**/*.ts', '**/*.mts', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_` marks a parameter or destructured value kept for its position (an Nx callback's signature, `[, b]`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // CommonJS on purpose: the bin entry loads the TypeScript source through require hooks, and depcruise reads a .cjs config.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
