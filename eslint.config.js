// ESLint 9 flat config. `npm run lint` runs it on src, test, bench and examples, then tsc.
// Kept to the rules that catch real defects here (promises nobody awaits, import cycles, a folder
// importing from one above it); tsc --noEmit does the type checking and the style is by hand.
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The folders of src, highest first (see the README's layout): a folder imports only from the
 * folders below it, type-only imports included, so a task's way reads top-down and no cycle can
 * form between folders. Entries on one line share a level and may not import each other.
 */
const LAYERS = [
  ['src/cli'],
  ['src/index.ts', 'src/internal.ts'],
  ['src/kernel'],
  ['src/actors'],
  ['src/config'],
  ['src/monitoring'],
  ['src/block'],
  ['src/dataflow'],
  ['src/apps'],
  ['src/executors'],
  ['src/providers'],
  ['src/nats'],
  ['src/worker'],
  ['src/wire'],
  ['src/staging'],
  ['src/common'],
];

/** One no-restricted-paths zone per level: everything above it, and its own level's siblings. */
const layerZones = LAYERS.flatMap((level, i) =>
  level.map((target) => ({
    target: `./${target}`,
    from: [...LAYERS.slice(0, i).flat(), ...level.filter((t) => t !== target)].map((p) => `./${p}`),
    message:
      i === LAYERS.length - 1
        ? `Layering: ${target} is the lowest folder and imports from no other folder of src.`
        : `Layering: ${target} may import only from folders below it (${LAYERS.slice(i + 1).flat().join(', ')}).`,
  })),
).filter((zone) => zone.from.length > 0);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        project: './tsconfig.all.json',
        tsconfigRootDir: root,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      // Dependencies are parsed as TypeScript too: without this no-cycle sees no .ts file's imports.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'] })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: layerZones }],
    },
  },
);
