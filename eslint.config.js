// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';

const cryptoBan = {
  paths: [
    { name: 'node:crypto', message: 'Cryptography lives in src/trust (DESIGN.md section 2).' },
    { name: 'crypto', message: 'Cryptography lives in src/trust (DESIGN.md section 2).' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'console/dist/**', 'bench/results/**', 'eslint.config.js'] },
  js.configs.recommended,
  comments.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['bin/*.mjs', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      'no-restricted-imports': ['error', cryptoBan],
      '@eslint-community/eslint-comments/require-description': 'error',
      '@eslint-community/eslint-comments/no-unlimited-disable': 'error',
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['src/trust/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The web console runs in the browser (console/tsconfig.json): no Node modules, and it reaches
    // the site only through the admin API.
    files: ['console/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The console runs in the browser.' },
            { group: ['**/src/*', '../../src/**'], message: 'The console talks to the admin API only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
