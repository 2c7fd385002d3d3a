// ESLint: typescript-eslint's recommended rules with type information (formatting is Prettier's).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'profiles/**', 'api/**', '.scratch/**', 'test/fixtures/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    // A disable comment that no longer disables anything is an error: each one says why it is needed.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a name left unused on purpose (a field omitted from a rest, a callback's ignored argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Rejecting with an abort signal's reason (typed unknown) is the platform's convention (fetch does it); a known non-Error is still refused.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  // Test doubles implement promise-returning interfaces with async methods that need no await.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  // Plain JavaScript (the bin stub, workers, scripts), and the example project `agentperf init`
  // writes (it imports the installed package, not these sources), are outside the TypeScript
  // project: linted without type information.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs', 'examples/**/*.ts'], ...tseslint.configs.disableTypeChecked },
);
