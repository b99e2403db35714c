// Proves the architecture rules in eslint.config.mjs bite: a component importing
// another component, demo code importing mesh code, and an import cycle are all errors.
import { ESLint } from 'eslint';
import { join } from 'node:path';

const root = join(__dirname, '..');
const eslint = new ESLint({ cwd: root, ignore: false });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  return result.messages.map((m) => `${m.ruleId}`);
}

describe('architecture lint rules', () => {
  jest.setTimeout(60000);

  it('reports a component importing another component', async () => {
    const ids = await ruleIds("import '../../mixer/src/main';\n", 'apps/pilot/src/lint-fixture.ts');
    expect(ids).toContain('@nx/enforce-module-boundaries');
  });

  it('reports a demo app importing mesh code', async () => {
    const ids = await ruleIds(
      "import { Clock } from '@tsmesh/core';\nexport const c: Clock | undefined = undefined;\n",
      'apps/bookinfo/details/src/lint-fixture.ts',
    );
    expect(ids).toContain('@nx/enforce-module-boundaries');
  });

  it('reports a library importing an app', async () => {
    const ids = await ruleIds("import '../../../apps/pilot/src/main';\n", 'libs/core/src/lint-fixture.ts');
    expect(ids).toContain('@nx/enforce-module-boundaries');
  });

  it('accepts an app importing a shared lib', async () => {
    const ids = await ruleIds(
      "import { Clock } from '@tsmesh/core';\nexport const c: Clock | undefined = undefined;\n",
      'apps/pilot/src/lint-fixture.ts',
    );
    expect(ids).not.toContain('@nx/enforce-module-boundaries');
  });

  it('reports an import cycle inside a project', async () => {
    const results = await eslint.lintFiles([join(root, 'tools/__fixtures__/cycle/a.ts')]);
    expect(results[0].messages.map((m) => m.ruleId)).toContain('import-x/no-cycle');
  });
});
