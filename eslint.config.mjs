// ESLint (flat config): type-aware TypeScript rules, import hygiene, jest hygiene, and the workflow sandbox's
// rules (test/determinism.test.ts proves they catch what they should). Formatting is Prettier's
// (.prettierrc.json); eslint-config-prettier turns off the rules that would fight it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import jest from 'eslint-plugin-jest';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

/** Workflow code runs in Temporal's deterministic sandbox: no I/O, no clock, no randomness, no environment. */
export const workflowRules = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: [
        ...builtinModules
          .flatMap((name) => [name, `node:${name}`])
          .map((name) => ({
            name,
            message: 'Workflow code does no I/O: Node built-ins belong in activities.',
          })),
        { name: 'pg', message: 'Workflow code does no I/O: SQL runs in activities.' },
        { name: 'pg-copy-streams', message: 'Workflow code does no I/O: SQL runs in activities.' },
        { name: '@aws-sdk/client-s3', message: 'Workflow code does no I/O: S3 is read in activities.' },
      ],
      patterns: [
        {
          group: ['**/activities', '**/activities/**'],
          allowTypeImports: true,
          message: 'Import activities as types only and call them through proxyActivities.',
        },
        {
          group: ['**/warehouse/**', '**/source/**', '**/config', '**/observability', '**/local/**'],
          allowTypeImports: true,
          message: 'These modules do I/O or read the environment; workflow code may import their types only.',
        },
      ],
    },
  ],
  'no-restricted-properties': [
    'error',
    {
      object: 'Date',
      property: 'now',
      message: 'No decisions from the clock: the interval comes from the input or the schedule.',
    },
    {
      object: 'Math',
      property: 'random',
      message: 'No randomness in workflow code: use uuid4() from @temporalio/workflow if needed.',
    },
  ],
  'no-restricted-syntax': [
    'error',
    {
      selector: "NewExpression[callee.name='Date'][arguments.length=0]",
      message: 'No decisions from the clock: the interval comes from the input or the schedule.',
    },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'process', message: 'Workflow code reads no environment: configuration arrives as input.' },
    { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow: it is durable.' },
    { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow in a loop: it is durable.' },
    { name: 'require', message: 'Workflow code imports statically, so the bundler sees every module.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.tools/**', 'coverage/**', 'test/histories/**'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended, prettier],
    plugins: { 'import-x': importX },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'object-shorthand': ['error', 'always'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-useless-path-segments': 'error',
      'import-x/first': 'error',
      'import-x/no-duplicates': 'error',
    },
  },
  {
    // One path to SQL: statements are reached through the Dialect (src/warehouse/dialect.ts), never imported.
    // Before the workflow rules below, which replace this one for workflow code (they ban src/warehouse/** too).
    files: ['src/**/*.ts'],
    ignores: ['src/warehouse/dialect.ts', 'src/warehouse/sql/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/warehouse/sql', '**/warehouse/sql/**', './sql', './sql/*'],
              allowTypeImports: true,
              message:
                'Reach statements through the Dialect: dialectOf(deps).statement(...) (src/warehouse/dialect.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/workflows/**/*.ts',
      'src/interval.ts',
      'src/types.ts',
      'src/input.ts',
      'src/failures.ts',
      'src/check-selection.ts',
      'src/search-attributes.ts',
    ],
    rules: workflowRules,
  },
  {
    files: ['test/**/*.ts'],
    plugins: { jest },
    languageOptions: { globals: jest.environments.globals.globals },
    rules: {
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/no-identical-title': 'error',
      'jest/valid-expect': 'error',
      // A test that asserts nothing is a defect. Helpers named expect… (expectGolden: test/support/golden.ts) assert.
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*', '**.expect*'] }],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended, prettier],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
      },
    },
  },
);
