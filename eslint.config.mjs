import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // docs/design/*/ holds measurement scripts behind design notes: throw-away, not product code.
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'coverage/**', '*.js', '*.mjs', 'docs/design/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    ignores: ['src/**/assets/*.js'],
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    // Specs, and the contract tests specs share (*.contract.ts, kept out of the build), are test code.
    ignores: ['src/**/*.spec.ts', 'src/**/*.contract.ts'],
    rules: {
      // A feature is reached through its module's public door (index.ts / *.module.ts), never a deep file.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(?!common/)[a-z-]+/(?!([a-z-]+/)*[a-z-]+\\.(module|settings)$|settings$).+',
              message: 'Import another feature (or a provider inside it) through its *.module.ts, its public door, or its *.settings.ts; never another file inside it.',
            },
          ],
        },
      ],
    },
  },
  {
    // The cua protocol sits between its client (computer/cua) and its server (computer-server):
    // a plain library that needs nothing but src/common, so neither side can pull the other in.
    files: ['src/cua-protocol/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^\\.\\./(?!common/)', message: 'src/cua-protocol may import only src/common.' },
            { group: ['@nestjs/*'], message: 'src/cua-protocol is Nest-free: plain types, schemas and functions.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.contract.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // Pages' scripts (served to browsers as they are): plain JavaScript modules, no type information.
  {
    files: ['src/**/assets/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', location: 'readonly', history: 'readonly', fetch: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', window: 'readonly' },
    },
  },
);
