const { projectJestConfig } = require('../jest.preset.cjs');

module.exports = projectJestConfig(__dirname, {
  testPathIgnorePatterns: ['/node_modules/', '/__fixtures__/', '/bench/'],
});
