import { formatPrincipal, formatSpiffeId, parsePrincipal, parseSpiffeId, spiffeId, tryParseSpiffeId } from './spiffe';

test('parses and formats the Istio form', () => {
  const id = parseSpiffeId('spiffe://cluster.local/ns/default/sa/productpage');
  expect(id).toEqual({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'productpage' });
  expect(formatSpiffeId(id)).toBe('spiffe://cluster.local/ns/default/sa/productpage');
  expect(formatPrincipal(id)).toBe('cluster.local/ns/default/sa/productpage');
  expect(parsePrincipal('cluster.local/ns/default/sa/productpage')).toEqual(id);
});

test.each([
  ['http://cluster.local/ns/default/sa/x', 'scheme'],
  ['spiffe://Cluster.local/ns/default/sa/x', 'trust domain'],
  ['spiffe://cluster.local/ns/default/sa/x/extra', 'path'],
  ['spiffe://cluster.local/ns/default/sa/', 'service account'],
  ['spiffe://cluster.local/ns//sa/x', 'namespace'],
  ['spiffe://cluster.local/ns/default/sa/victim\u0000evil', 'control'],
  ['spiffe://cluster.local/ns/default/sa/x?y', '%'],
  ['spiffe://cluster.local/ns/default/sa/x#y', '%'],
  ['spiffe://cluster.local:443/ns/default/sa/x', '%'],
  ['spiffe://user@cluster.local/ns/default/sa/x', '%'],
  ['spiffe://cluster.local/ns/default/sa/%78', '%'],
  ['spiffe://cluster.local/ns/../sa/x', 'namespace'],
  ['spiffe://cluster.local/ns/default/sa/X', 'service account'],
  ['spiffe://cluster.local/NS/default/sa/x', 'path'],
])('refuses %j', (uri, why) => {
  expect(() => parseSpiffeId(uri)).toThrow(expect.objectContaining({ code: 'PKI_ERR_BAD_SPIFFE_ID' }));
  expect(() => parseSpiffeId(uri)).toThrow(new RegExp(why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i'));
  expect(tryParseSpiffeId(uri)).toBeNull();
});

test('spiffeId builds with the default trust domain and validates parts', () => {
  expect(formatSpiffeId(spiffeId('shop', 'order'))).toBe('spiffe://cluster.local/ns/shop/sa/order');
  expect(() => spiffeId('shop', 'Order!')).toThrow(/service account/);
});
