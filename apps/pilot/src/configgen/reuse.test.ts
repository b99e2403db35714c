import { defaultMeshSettings } from '../model/mesh';
import { buildPushContext } from '../model/push-context';
import { applyFile } from '../registry/apply';
import { BOOKINFO_YAML, REVIEWS_DR, productpage, storeFrom } from '../testing/bookinfo';
import { simulate } from '../testing/simulate';
import { generate } from './generator';
import { TYPE, type Msg } from './names';

const VS = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: ratings}}]}]
`;

describe('reuse of generated pieces across pushes', () => {
  it('reuses unchanged objects and rebuilds those whose inputs changed, including destination rules of other hosts', () => {
    const store = storeFrom(BOOKINFO_YAML, REVIEWS_DR, VS);
    const mesh = defaultMeshSettings();
    const p = productpage();
    const c1 = buildPushContext(store, mesh, 'v1');
    const rds1 = generate(TYPE.route, p, c1, ['9080'])?.[0] as Msg;
    const eds1 = generate(TYPE.endpoint, p, c1, ['outbound|9080|v1|reviews.default.svc.cluster.local'])?.[0];
    const c2 = buildPushContext(store, mesh, 'v2', c1);
    expect(generate(TYPE.route, p, c2, ['9080'])?.[0]).toBe(rds1);
    expect(generate(TYPE.endpoint, p, c2, ['outbound|9080|v1|reviews.default.svc.cluster.local'])?.[0]).toBe(eds1);

    applyFile(
      store,
      'dr.yaml',
      `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
`,
    );
    const c3 = buildPushContext(store, mesh, 'v3', c2);
    const rds3 = generate(TYPE.route, p, c3, ['9080'])?.[0] as Msg;
    expect(rds3).not.toBe(rds1);
    const action = simulate(rds3, { authority: 'reviews' })?.route['route'] as Msg;
    expect(action['hash_policy']).toEqual([{ header: { header_name: 'x-user' } }]);
  });
});
