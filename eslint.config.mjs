// Lint is the architecture: module boundaries by Nx tags (DESIGN.md "Layout"),
// no import cycles inside a project, strict TypeScript rules.
import nx from '@nx/eslint-plugin';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: [
      '**/dist',
      '**/node_modules',
      '**/generated/**',
      'coverage',
      'tmp',
      '.nx',
      '.tsmesh',
      '**/__fixtures__/**',
    ],
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: false,
          depConstraints: [
            // Components (pilot, mixer, citadel, proxy, gateway, cli) use libs only; Nx already forbids app→app imports.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
            // Libs never import apps, demo code or the test helpers (outside tests).
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
            { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['type:testing'] },
            // Demo applications know nothing of the mesh.
            { sourceTag: 'type:demo', onlyDependOnLibsWithTags: ['type:demo-lib'] },
            { sourceTag: 'type:demo-lib', onlyDependOnLibsWithTags: ['type:demo-lib'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:lib'] },
            // Workspace tooling (benchmarks, lint tests) may drive anything.
            { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
      'import-x/no-cycle': ['error', { maxDepth: 10, ignoreExternal: true }],
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
  },
  {
    // Benchmarks are workspace tooling: they drive components' internals in-process
    // to measure them, which no deployable may do.
    files: ['tools/bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
