import { X509Certificate } from 'node:crypto';
import { FakeClock, silentLogger } from '@tsmesh/core';
import { waitFor } from '@tsmesh/testing';
import { generateKey, inspectCertificate, loadPrivateKey, selfSignedRoot } from '@tsmesh/pki';
import { WorkloadSigner } from '../ca/signer';
import { citadelMetrics } from '../metrics';
import { SA_ANNOTATION, SECRET_TYPE, SecretController, type SecretsApi } from './secret-controller';

const H = 3_600_000;

function fakeApi() {
  const secrets = new Map<
    string,
    { type: string; data: Record<string, string>; annotations: Record<string, string> }
  >();
  const api: SecretsApi = {
    listServiceAccounts: async () => [
      { namespace: 'default', name: 'default' },
      { namespace: 'default', name: 'productpage' },
    ],
    readSecret: async (ns, name) => secrets.get(`${ns}/${name}`)?.data ?? null,
    writeSecret: async (ns, name, type, data, annotations) =>
      void secrets.set(`${ns}/${name}`, { type, data, annotations }),
  };
  return { api, secrets };
}

test('writes istio.<sa> secrets, renews at half-life and when the root changes', async () => {
  const clock = new FakeClock(Date.now());
  const rootKey = await generateKey();
  const rootPem = selfSignedRoot(rootKey.privateKey, 'cluster.local', 3650 * 24 * H, clock.now());
  const root = new X509Certificate(rootPem);
  const ca = {
    signingKey: rootKey.privateKey,
    signingCert: root,
    intermediates: [],
    root,
    rootPem,
    source: 'self-signed' as const,
  };
  const signer = new WorkloadSigner(ca, { defaultTtlMs: 24 * H, maxTtlMs: 90 * 24 * H, clock });
  const { api, secrets } = fakeApi();
  const o = {
    api,
    signer,
    trustDomain: 'cluster.local',
    ttlMs: 24 * H,
    namespaces: [],
    clock,
    logger: silentLogger(),
    metrics: citadelMetrics(),
  };
  const ctl = new SecretController(o);
  await ctl.resync();
  const s = secrets.get('default/istio.productpage');
  expect(s?.type).toBe(SECRET_TYPE);
  expect(s?.annotations[SA_ANNOTATION]).toBe('productpage');
  expect(Object.keys(s?.data ?? {}).sort()).toEqual(['cert-chain.pem', 'key.pem', 'root-cert.pem']);
  const leaf = new X509Certificate(s!.data['cert-chain.pem']);
  expect(inspectCertificate(leaf).sans.uris).toEqual(['spiffe://cluster.local/ns/default/sa/productpage']);
  expect(leaf.checkPrivateKey(loadPrivateKey(s!.data['key.pem']))).toBe(true);
  expect(secrets.has('default/istio.default')).toBe(true);

  await ctl.resync();
  expect(secrets.get('default/istio.productpage')!.data['cert-chain.pem']).toBe(s!.data['cert-chain.pem']);
  clock.advance(13 * H);
  await ctl.resync();
  expect(secrets.get('default/istio.productpage')!.data['cert-chain.pem']).not.toBe(s!.data['cert-chain.pem']);

  // Root rotation: a secret holding an old root is rewritten at once.
  const stale = secrets.get('default/istio.default')!;
  stale.data = { ...stale.data, 'root-cert.pem': 'old root' };
  const before = stale.data['cert-chain.pem'];
  await ctl.resync();
  expect(secrets.get('default/istio.default')!.data['cert-chain.pem']).not.toBe(before);
  expect(secrets.get('default/istio.default')!.data['root-cert.pem']).toBe(rootPem);
});

test('a watched new ServiceAccount gets its secret without waiting for the resync', async () => {
  const clock = new FakeClock(Date.now());
  const rootKey = await generateKey();
  const rootPem = selfSignedRoot(rootKey.privateKey, 'cluster.local', 3650 * 24 * H, clock.now());
  const root = new X509Certificate(rootPem);
  const ca = {
    signingKey: rootKey.privateKey,
    signingCert: root,
    intermediates: [],
    root,
    rootPem,
    source: 'self-signed' as const,
  };
  const signer = new WorkloadSigner(ca, { defaultTtlMs: 24 * H, maxTtlMs: 90 * 24 * H, clock });
  const { api, secrets } = fakeApi();
  let emit: ((sa: { namespace: string; name: string }) => void) | undefined;
  let stopped = false;
  api.listServiceAccounts = async () => [];
  api.watchServiceAccounts = (_ns, onAdded) => {
    emit = onAdded;
    return () => (stopped = true);
  };
  const ctl = new SecretController({
    api,
    signer,
    trustDomain: 'cluster.local',
    ttlMs: 24 * H,
    namespaces: [],
    clock,
    logger: silentLogger(),
    metrics: citadelMetrics(),
  });
  ctl.start(60_000);
  emit?.({ namespace: 'shop', name: 'order' });
  await waitFor(() => secrets.has('shop/istio.order'), { timeoutMs: 10_000 });
  expect(secrets.get('shop/istio.order')?.annotations[SA_ANNOTATION]).toBe('order');
  ctl.stop();
  expect(stopped).toBe(true);
});
