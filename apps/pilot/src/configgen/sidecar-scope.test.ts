import { BOOKINFO_YAML, contextFrom, productpage, sidecar } from '../testing/bookinfo';
import { simulate } from '../testing/simulate';
import { generateClusters, generateListeners, generateRoutes } from './generator';

const OTHER = `apiVersion: v1
kind: Service
metadata: {name: billing, namespace: shop}
spec: {clusterIP: 10.96.5.5, ports: [{name: http, port: 9080}, {name: tcp-db, port: 5432}]}
`;

const SIDECAR = `apiVersion: networking.istio.io/v1alpha3
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
`;

describe('Sidecar-scoped generation', () => {
  it('without a Sidecar every service is visible (Istio 1.0)', () => {
    const ctx = contextFrom([BOOKINFO_YAML, OTHER]);
    const names = generateClusters(productpage(), ctx, []).map((c) => c['name']);
    expect(names).toContain('outbound|9080||billing.shop.svc.cluster.local');
  });

  it('limits CDS, LDS and RDS to the egress hosts of the namespace Sidecar', () => {
    const ctx = contextFrom([BOOKINFO_YAML, OTHER, SIDECAR]);
    const names = generateClusters(productpage(), ctx, []).map((c) => c['name']);
    expect(names).toContain('outbound|9080||reviews.default.svc.cluster.local');
    expect(names).not.toContain('outbound|9080||billing.shop.svc.cluster.local');
    expect(generateListeners(productpage(), ctx, []).map((l) => l['name'])).not.toContain('10.96.5.5_5432');
    const [rc] = generateRoutes(productpage(), ctx, ['9080']);
    expect(simulate(rc, { authority: 'billing.shop:9080' })?.cluster).toBe('PassthroughCluster');
    expect(simulate(rc, { authority: 'reviews:9080' })?.cluster).toBe(
      'outbound|9080||reviews.default.svc.cluster.local',
    );
    // a proxy in another namespace is not scoped by default/default
    const shopProxy = sidecar('10.1.9.9', 'billing-1', { app: 'billing' }, 'shop');
    expect(generateClusters(shopProxy, ctx, []).map((c) => c['name'])).toContain(
      'outbound|9080||billing.shop.svc.cluster.local',
    );
  });
});
