import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * typescript-eslint's recommended type-checked rules, with these deliberate exceptions:
 * - the no-unsafe-* family is off: DuckDB rows, parsed JSON and YAML are untyped at the boundary
 *   by nature, and zod schemas (not annotations) are what make them safe here;
 * - require-await is off: a port's async method may have nothing to wait for in one adapter;
 * - no-control-regex is off: escaping control characters is what those expressions are for;
 * - no-base-to-string is off: the cell and HTML formatters take `unknown`, handle objects first and
 *   stringify the primitives left, a narrowing the rule cannot follow;
 * - restrict-template-expressions allows numbers, booleans and nullish values in messages.
 * Tests may also pass unbound methods (vitest spies) and interpolate unknown values in messages.
 */
export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test/fixtures/', 'lake/', '.netflow/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
      'no-control-regex': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', setImmediate: 'readonly', URL: 'readonly', module: 'writable', require: 'readonly' },
    },
  },
);
