import { storeFrom } from '../testing/bookinfo';
import { defaultMeshSettings } from './mesh';
import { buildPushContext } from './push-context';

describe('EndpointSlices', () => {
  it('give a Service its endpoints when it has no Endpoints object', () => {
    const store = storeFrom(`apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {clusterIP: 10.96.7.7, ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: cart-abc, namespace: shop, labels: {kubernetes.io/service-name: cart}}
addressType: IPv4
endpoints:
- {addresses: [10.3.0.1], conditions: {ready: true}}
- {addresses: [10.3.0.2], conditions: {ready: false}}
ports: [{name: http, port: 8080}]
`);
    const ctx = buildPushContext(store, defaultMeshSettings(), 'v');
    expect(ctx.endpoints.get('cart.shop.svc.cluster.local')?.map((e) => `${e.address}:${e.port}`)).toEqual([
      '10.3.0.1:8080',
    ]);
  });
});
