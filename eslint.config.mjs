// Lint rules for the TypeScript library, its tests, scripts, bench and examples: typescript-eslint's
// recommended set over @eslint/js's. Formatting is prettier's job (.prettierrc.json), not lint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'build-cmake/', 'prebuilds/', 'node_modules/', 'lib/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // A leading underscore marks what is left out on purpose (`const { a: _a, ...rest } = x`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Tests read events and JSON of every shape (the library itself stays typed)
  // and match terminal escape sequences (no-control-regex).
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off' } },
  { files: ['examples/electron/renderer.js'], languageOptions: { globals: { ...globals.browser } } },
  // The Titanium app runs with Titanium's globals (ti-shim.js provides them under Node).
  { files: ['examples/titanium-app/app.js'], languageOptions: { globals: { Ti: 'readonly', Titanium: 'readonly' } } },
);
