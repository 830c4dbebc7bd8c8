// ESLint for the console's JavaScript and the Node scripts that drive it (web/lint runs it).
// Rules that catch bugs only: layout is prettier's (web/.prettierrc.json).
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import globals from 'globals';

// Patterns are relative to the repository root, however ESLint is started (web/lint passes
// --config from the root; an editor finds this file from web/).
const root = fileURLToPath(new URL('..', import.meta.url));

const rules = {
  eqeqeq: ['error', 'smart'],
  // An unused catch binding is not a bug (canonical_v2.js names them).
  'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'none' }],
  // A const or let read before its declaration in the same scope throws at run time.
  'no-use-before-define': ['error', { functions: false, classes: false, variables: false }],
  'array-callback-return': 'error',
  'no-self-compare': 'error',
  'no-template-curly-in-string': 'error',
  'no-unmodified-loop-condition': 'error',
  'no-unreachable-loop': 'error',
};

// Window properties that a forgotten declaration silently reads instead of failing no-undef.
const confusingBrowserGlobals = ['event', 'name', 'status', 'length', 'top', 'parent', 'opener', 'closed', 'origin'];

export default [
  { basePath: root, ignores: ['**/node_modules/', 'build*/'] },
  {
    basePath: root,
    files: ['web/public/**/*.js'],
    name: 'console (browser)',
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: globals.browser },
    rules: {
      ...js.configs.recommended.rules,
      ...rules,
      'no-restricted-globals': ['error', ...confusingBrowserGlobals],
    },
  },
  {
    // Node scripts.
    basePath: root,
    files: [
      'web/*.js',
      'web/*.mjs',
      'tests/console/*.mjs',
      'bench/console_bench.mjs',
      'tests/mime/whatwg_crosscheck.mjs',
      'tests/data/canonical-v2/*.mjs',
    ],
    name: 'scripts (node)',
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: globals.node },
    rules: { ...js.configs.recommended.rules, ...rules },
  },
  {
    // These hand functions that read document and window to Playwright's page.evaluate(),
    // which runs them in the browser.
    name: 'scripts with browser callbacks',
    basePath: root,
    files: ['tests/console/*.mjs', 'bench/console_bench.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
];
