// Writes one small JSON file per project run so tools/test.mjs can print the
// workspace-wide "N passed, N failed" line (also restored from the Nx cache).
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(_globalConfig, options) {
    this.outputDir = options.outputDir;
  }
  onRunComplete(_contexts, results) {
    fs.mkdirSync(this.outputDir, { recursive: true });
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      suites: results.numTotalTestSuites,
    };
    fs.writeFileSync(path.join(this.outputDir, 'test-summary.json'), JSON.stringify(summary));
  }
}

module.exports = SummaryReporter;
