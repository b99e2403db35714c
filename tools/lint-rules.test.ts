// Proves the architecture rules in eslint.config.mjs bite: a component importing
// another component, demo code importing mesh code, a lib importing an app, and
// an import cycle are all lint errors. ESLint runs as a child process, as
// `npm run lint` runs it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');
const eslintBin = join(root, 'node_modules/eslint/bin/eslint.js');

interface LintResult {
  messages: Array<{ ruleId: string | null; message: string }>;
}

function lint(args: string[], stdin?: string): string[] {
  const res = spawnSync(process.execPath, [eslintBin, '--format', 'json', '--no-ignore', ...args], {
    cwd: root,
    input: stdin,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  const results = JSON.parse(res.stdout) as LintResult[];
  return results.flatMap((r) => r.messages.map((m) => `${m.ruleId}`));
}

const lintText = (code: string, filePath: string) => lint(['--stdin', '--stdin-filename', join(root, filePath)], code);

describe('architecture lint rules', () => {
  jest.setTimeout(120_000);

  it('reports a component importing another component', () => {
    expect(lintText("import '../../mixer/src/main';\n", 'apps/pilot/src/lint-fixture.ts')).toContain(
      '@nx/enforce-module-boundaries',
    );
  });

  it('reports a demo app importing mesh code', () => {
    const code = "import { systemClock } from '@tsmesh/core';\nexport const c = systemClock;\n";
    expect(lintText(code, 'apps/bookinfo/details/src/lint-fixture.ts')).toContain('@nx/enforce-module-boundaries');
  });

  it('reports a library importing an app', () => {
    expect(lintText("import '../../../apps/pilot/src/main';\n", 'libs/core/src/lint-fixture.ts')).toContain(
      '@nx/enforce-module-boundaries',
    );
  });

  it('accepts an app importing a shared lib', () => {
    const code = "import { systemClock } from '@tsmesh/core';\nexport const c = systemClock;\n";
    expect(lintText(code, 'apps/pilot/src/lint-fixture.ts')).not.toContain('@nx/enforce-module-boundaries');
  });

  it('reports an import cycle inside a project', () => {
    expect(lint([join(root, 'tools/__fixtures__/cycle/a.ts')])).toContain('import-x/no-cycle');
  });
});
