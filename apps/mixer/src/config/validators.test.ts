import { loadYaml, validate } from '@tsmesh/mesh-config';
import { registerBuiltinAdapters } from '../adapters/registry';
import { registerMixerValidators } from './validators';

describe('mesh-config validators for Mixer kinds', () => {
  let unregister: () => void;
  beforeAll(() => {
    unregister = registerMixerValidators(registerBuiltinAdapters());
  });
  afterAll(() => unregister());

  const check = (text: string) => {
    const { objects, errors } = loadYaml(text, 'policy.yaml');
    expect(errors).toEqual([]);
    return validate(objects[0]).errors.map((e) => `${e.path}: ${e.message}`);
  };

  it('reports adapter params and expressions with field paths', () => {
    expect(
      check(`apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: { name: handler, namespace: istio-system }
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: -5
    validDuration: 1s
`),
    ).toEqual(
      expect.arrayContaining([expect.stringMatching(/^spec\.quotas\[0\]\.maxAmount: must be an integer >= 0/)]),
    );
    expect(
      check(`apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: r, namespace: istio-system }
spec:
  match: request.headers["x-user"] == 3
  actions:
  - handler: elsewhere.denier
    instances: [ elsewhere.checknothing ]
`),
    ).toEqual([expect.stringMatching(/^spec\.match: .*column 27: cannot compare STRING with INT64/)]);
  });

  it('accepts good objects', () => {
    expect(
      check(`apiVersion: config.istio.io/v1alpha2
kind: listentry
metadata: { name: appversion, namespace: default }
spec:
  value: source.labels["version"]
`),
    ).toEqual([]);
  });
});
