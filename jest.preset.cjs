// Shared Jest settings for every project: SWC transform, path aliases from
// tsconfig.base.json, and the summary reporter that tools/test.mjs aggregates.
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  moduleNameMapper[`^${alias}$`] = path.join(__dirname, target);
}

/** @param {string} projectDir absolute directory of the project's jest.config.cjs */
function projectJestConfig(projectDir, overrides = {}) {
  const rel = path.relative(__dirname, projectDir);
  return {
    displayName: rel,
    rootDir: projectDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/__fixtures__/'],
    transform: {
      '^.+\\.(t|j)s$': [
        require.resolve('@swc/jest'),
        { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
      ],
    },
    // jose ships ESM only: Node 20.19+ require()s it natively, Jest needs it transformed.
    transformIgnorePatterns: ['/node_modules/(?!jose/)'],
    moduleFileExtensions: ['ts', 'js', 'json'],
    moduleNameMapper,
    maxWorkers: 1,
    testTimeout: 30000,
    reporters: [
      'default',
      [path.join(__dirname, 'tools/jest-summary-reporter.cjs'), { outputDir: path.join(__dirname, 'coverage', rel) }],
    ],
    ...overrides,
  };
}

module.exports = { projectJestConfig };
