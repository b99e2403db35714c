import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinKinds } from './builtin-kinds';
import { loadYaml } from './loader';
import { MIXER_PARAM_KINDS } from './schemas/mixer';
import { validate, validateAll } from './validate';

/**
 * Galley-style corpus: `__fixtures__/kinds/<group>-<version>-<Kind>-{valid,invalid}.yaml`
 * for every kind. Invalid files list the errors they must produce as
 * `# expect: <path>: <message part>` lines; every error must be expected.
 */
const dir = join(__dirname, '__fixtures__', 'kinds');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

function fileFor(kind: string, variant: 'valid' | 'invalid'): string | undefined {
  return files.find((f) => f.endsWith(`-${kind}-${variant}.yaml`));
}

const kinds = builtinKinds().filter((k) => !MIXER_PARAM_KINDS.includes(k.kind));

describe('kind corpus', () => {
  it.each(kinds.map((k) => [k.kind]))('%s has a valid and an invalid example', (kind) => {
    expect([fileFor(kind, 'valid'), fileFor(kind, 'invalid')]).toEqual([
      expect.stringContaining(kind),
      expect.stringContaining(kind),
    ]);
  });

  it.each(files.filter((f) => f.endsWith('-valid.yaml')).map((f) => [f]))('%s is accepted', (file) => {
    const r = loadYaml(readFileSync(join(dir, file), 'utf8'), file);
    expect(r.errors).toEqual([]);
    expect(validateAll(r.objects).errors.filter((e) => e.severity === 'error')).toEqual([]);
    expect(r.objects.length).toBeGreaterThan(0);
  });

  it.each(files.filter((f) => f.endsWith('-invalid.yaml')).map((f) => [f]))('%s is refused as expected', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThan(0);
    const r = loadYaml(text, file);
    expect(r.errors).toEqual([]);
    const got = validateAll(r.objects)
      .errors.filter((e) => e.severity === 'error')
      .map((e) => `${e.path}: ${e.message}`);
    expect(expected.filter((want) => !got.some((g) => g.includes(want)))).toEqual([]);
    expect(got.filter((g) => !expected.some((want) => g.includes(want)))).toEqual([]);
  });
});

describe('Mixer per-kind handler and instance forms', () => {
  it.each(MIXER_PARAM_KINDS.map((k) => [k]))('%s takes an object spec', (kind) => {
    const ok = loadYaml(`apiVersion: config.istio.io/v1alpha2\nkind: ${kind}\nmetadata: {name: h}\nspec: {a: 1}\n`);
    expect(validate(ok.objects[0]).errors).toEqual([]);
    const bad = loadYaml(`apiVersion: config.istio.io/v1alpha2\nkind: ${kind}\nmetadata: {name: h}\nspec: [1]\n`);
    expect(validate(bad.objects[0]).errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'spec: expected map, got list',
    ]);
  });
});
