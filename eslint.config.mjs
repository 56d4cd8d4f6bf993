// ESLint flat config: typescript-eslint's recommended rules on the library, its tests, the sample and
// the benchmarks; formatting is Prettier's job (eslint-config-prettier turns the clashing rules off).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/fixtures/**', 'compat/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    rules: {
      // Driver handles (pg, mysql2, better-sqlite3 through TypeORM) are untyped at the edges.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Optional peers (@nestjs/typeorm, @nestjs/terminus) are loaded on demand.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // CommonJS config files (test/unit/jest.config.js).
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The sample's chat page: a browser module script, no build step.
    files: ['sample/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'localStorage', 'crypto', 'fetch', 'EventSource', 'TextDecoderStream',
          'setTimeout', 'clearTimeout', 'confirm', 'console'].map((name) => [name, 'readonly']),
      ),
    },
  },
);
