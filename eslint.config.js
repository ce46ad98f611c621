// ESLint: typescript-eslint's type-aware rules over the TypeScript (src, test, bench) and the
// browser code (src/web/ui/*.js, typed with JSDoc and checked by src/web/ui/tsconfig.json).
// Formatting is Prettier's job (`npm run format:check`), so no stylistic rules here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** The Node globals the plain scripts use (they are not type-checked, so no-undef stays on). */
const NODE_SCRIPT_GLOBALS = { process: 'readonly', console: 'readonly', URL: 'readonly', module: 'readonly' };

export default defineConfig(
  { ignores: ['dist/', 'build/', 'node_modules/', 'native/', 'bench-out/', 'test-artifacts/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked against its nearest tsconfig: tsconfig.json for src, test and
        // bench; src/web/ui/tsconfig.json (DOM, checkJs) for the browser code.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // tsc already reports undefined names (and knows the DOM and Node globals per tsconfig).
      'no-undef': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return promises the runner itself awaits and reports.
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // A destructured-away key (`const { driver: _driver, ...options } = spec`) or a parameter
      // an interface requires but this implementation ignores is named with a leading _.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Off: an async method that implements a Promise-returning interface (Camera.open/close,
      // handlers) without awaiting anything is still right to be async: a throw in it becomes a
      // rejection, which is what its callers handle. Dropping `async` would turn those into
      // synchronous throws.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Passing on a caught `unknown` (reject(error) in a .then's error handler) forwards what
      // was thrown; it does not make a new non-Error reason.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // zeromq is CommonJS: imported as an ES module, Node scans its source at every process start
    // (~5 ms CPU per process); runtime code takes its classes from src/transport/zeromq.ts.
    files: ['src/**/*.ts'],
    ignores: ['src/transport/zeromq.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'zeromq',
              allowTypeImports: true,
              message: 'take the socket classes from src/transport/zeromq.ts (required, not imported)',
            },
          ],
        },
      ],
    },
  },
  {
    // Build scripts, the example analysis and this file: no tsconfig covers them, so only the
    // rules that need no type information.
    files: ['*.js', '*.cjs', 'scripts/**/*.mjs', 'examples/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: NODE_SCRIPT_GLOBALS },
    rules: { 'no-undef': 'error' },
  },
);
