// One lint configuration for the whole tree: typescript-eslint's type-checked rules on the sources, the
// untyped recommended rules on tests and scripts (they are not part of a TypeScript project), Prettier's
// formatting left to Prettier.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/generated/**', '**/node_modules/**', 'bench-results/**', '**/*.d.ts', 'packages/cli/test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    // An async function without await is how a host method returns a resolved promise here (memoryHost,
    // result sinks): the interface is asynchronous, this implementation needs no waiting.
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: ['**/test/**', 'test-support/**', 'examples/**', 'packages/*/bin/**', '*.ts', '*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  prettier,
);
