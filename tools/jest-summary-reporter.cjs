// Writes one small JSON file per project run so tools/test.mjs can print the
// workspace-wide "N passed, N failed" line (also restored from the Nx cache).
const fs = require('node:fs');
const path = require('node:path');

function failuresOf(results) {
  const out = [];
  for (const file of results.testResults) {
    const rel = path.relative(process.cwd(), file.testFilePath);
    if (file.testExecError)
      out.push({ file: rel, test: '(suite did not run)', message: firstLines(file.testExecError.message) });
    for (const t of file.testResults) {
      if (t.status === 'failed')
        out.push({ file: rel, test: t.fullName, message: firstLines(t.failureMessages.join('\n')) });
    }
  }
  return out;
}

function firstLines(text) {
  return String(text ?? '')
    .replace(new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g'), '')
    .split('\n')
    .slice(0, 6)
    .join('\n');
}

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
      // Names and first message lines of what failed, so the workspace summary can
      // repeat them at the very end of the log (CI shows the tail first).
      failures: failuresOf(results),
    };
    fs.writeFileSync(path.join(this.outputDir, 'test-summary.json'), JSON.stringify(summary));
  }
}

module.exports = SummaryReporter;
