/**
 * The built Pilot in `--kube` mode against a fake API server: Kubernetes Secrets named by a Gateway's
 * `credentialName` (a `kubernetes.io/tls` Secret in the gateway's namespace, `ca.crt` for MUTUAL) are served to the
 * gateway over ADS/SDS, a Secret update (watch event, or a relist after `410 Gone`) is pushed, and no private key
 * shows up in `/debug/configz`, `/debug/registryz`, `/debug/config_dump` or the log.
 */
import { join } from 'node:path';
import {
  FakeKube,
  httpRequest,
  makeTestCert,
  startPilot,
  stopAllApps,
  tempDir,
  waitFor,
  type AppProcess,
  type TempDir,
  type TestCert,
} from '@tsmesh/testing';
import { TYPE } from '../../configgen/names';
import { AdsClient, type Response } from '../../testing/ads-client';

type Obj = Record<string, unknown>;

const SECRETS = '/api/v1/secrets';
const GATEWAYS = '/apis/networking.istio.io/v1alpha3/gateways';
const ROUTER = 'router~10.1.0.200~istio-ingressgateway-x.istio-system~istio-system.svc.cluster.local';
const NAMES = ['gw-cert', 'mtls-cert', 'mtls-cert-cacert'];

const b64 = (s: string) => Buffer.from(s).toString('base64');
const keyBody = (c: TestCert) => c.key.split('\n')[1];

function tlsSecret(name: string, cert: TestCert, extra: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name,
      namespace: 'istio-system',
      annotations: {
        // What `kubectl apply` leaves behind: a full copy, private key included.
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { 'tls.key': b64(cert.key) } }),
      },
    },
    data: { 'tls.crt': b64(cert.cert), 'tls.key': b64(cert.key), ...extra },
  };
}

const gateway: Obj = {
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'Gateway',
  metadata: { name: 'gw', namespace: 'istio-system' },
  spec: {
    selector: { istio: 'ingressgateway' },
    servers: [
      {
        port: { number: 443, name: 'https', protocol: 'HTTPS' },
        hosts: ['a.example.com'],
        tls: { mode: 'SIMPLE', credentialName: 'gw-cert' },
      },
      {
        port: { number: 9443, name: 'tls', protocol: 'TLS' },
        hosts: ['b.example.com'],
        tls: { mode: 'MUTUAL', credentialName: 'mtls-cert' },
      },
    ],
  },
};

/** Secret resources by name, PEM text of their inline bytes. */
function byName(r: Response): Map<string, Obj> {
  return new Map(r.resources.map((s) => [String(s['name']), s]));
}
const certOf = (s: Obj | undefined) =>
  String(((s?.['tls_certificate'] as Obj)?.['certificate_chain'] as Obj)?.['inline_bytes'] ?? '');
const keyOf = (s: Obj | undefined) =>
  String(((s?.['tls_certificate'] as Obj)?.['private_key'] as Obj)?.['inline_bytes'] ?? '');
const caOf = (s: Obj | undefined) =>
  String(((s?.['validation_context'] as Obj)?.['trusted_ca'] as Obj)?.['inline_bytes'] ?? '');

describe('pilot --kube: gateway credentials from Kubernetes Secrets', () => {
  let kube: FakeKube;
  let dir: TempDir;
  let app: AppProcess;
  let client: AdsClient;
  const first = makeTestCert('a.example.com');
  const second = makeTestCert('a.example.com');
  const third = makeTestCert('a.example.com');
  const mtls = makeTestCert('b.example.com');

  beforeAll(async () => {
    kube = new FakeKube();
    await kube.start();
    kube.put(GATEWAYS, gateway);
    kube.put(SECRETS, tlsSecret('gw-cert', first));
    kube.put(SECRETS, tlsSecret('mtls-cert', mtls, { 'ca.crt': b64(mtls.ca) }));
    kube.put(SECRETS, {
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 'default-token-x', namespace: 'istio-system' },
      data: { token: b64('sa-token-value'), 'ca.crt': b64(mtls.ca) },
    });
    kube.put(SECRETS, {
      // A Helm release record: with `key`/`cert` data keys only the field selector keeps it from Pilot.
      type: 'helm.sh/release.v1',
      metadata: { name: 'sh.helm.release.v1.mesh.v1', namespace: 'istio-system' },
      data: { release: b64('helm-release-value'), key: b64('helm-key-value'), cert: b64('helm-cert-value') },
    });
    kube.put(SECRETS, {
      type: 'Opaque',
      metadata: { name: 'db-password', namespace: 'istio-system' },
      data: { password: b64('opaque-password-value') },
    });
    dir = tempDir('pilot-kube-secrets-');
    app = await startPilot(
      { kubeconfig: kube.kubeconfig(join(dir.path, 'kubeconfig')) },
      { args: ['--log-level', 'debug'] },
    );
    client = new AdsClient({
      address: app.addresses['grpc'],
      nodeId: ROUTER,
      metadata: { LABELS: JSON.stringify({ istio: 'ingressgateway' }) },
    });
  });

  afterAll(async () => {
    client?.close();
    await stopAllApps();
    await kube.stop();
    dir.cleanup();
  });

  /** Subscribes (or re-requests) and waits until an SDS response satisfies `ok`, ACKing each one. */
  async function sdsUntil(ok: (m: Map<string, Obj>) => boolean, what: string): Promise<Map<string, Obj>> {
    return waitFor(
      async () => {
        const r = client.last.get(TYPE.secret);
        if (r) client.ack(r, NAMES);
        const m = r ? byName(r) : undefined;
        return m && ok(m) ? m : undefined;
      },
      { what },
    );
  }

  it('serves the credentialName secret, and the ca.crt as <name>-cacert for MUTUAL, to the gateway', async () => {
    client.send(TYPE.secret, NAMES);
    const m = await sdsUntil((x) => x.size === 3, 'three SDS secrets');
    expect(certOf(m.get('gw-cert'))).toBe(first.cert);
    expect(keyOf(m.get('gw-cert'))).toBe(first.key);
    expect(certOf(m.get('mtls-cert'))).toBe(mtls.cert);
    expect(caOf(m.get('mtls-cert-cacert'))).toBe(mtls.ca);
  });

  it('pushes a Secret update from the watch', async () => {
    kube.put(SECRETS, tlsSecret('gw-cert', second));
    const m = await sdsUntil((x) => certOf(x.get('gw-cert')) === second.cert, 'rotated gw-cert pushed');
    expect(keyOf(m.get('gw-cert'))).toBe(second.key);
  });

  it('relists Secrets after 410 Gone: a changed one is pushed, a removed one is no longer served', async () => {
    kube.replaceSilently(SECRETS, [tlsSecret('gw-cert', third)]);
    kube.closeWatches();
    const m = await sdsUntil(
      (x) => certOf(x.get('gw-cert')) === third.cert && !x.has('mtls-cert'),
      'relisted secrets pushed',
    );
    expect(m.has('mtls-cert-cacert')).toBe(false);
    kube.put(SECRETS, tlsSecret('mtls-cert', mtls, { 'ca.crt': b64(mtls.ca) }));
    await sdsUntil((x) => x.size === 3, 'mtls-cert back');
  });

  it('keeps no service-account tokens or unrelated secrets, and shows no private key in debug endpoints or logs', async () => {
    const configz = (await httpRequest(`${app.url('http')}/debug/configz`)).body;
    const objects = (JSON.parse(configz) as { objects: { key: string; object: Obj }[] }).objects;
    const secrets = objects.filter((o) => o.key.startsWith('Secret/')).map((o) => o.key);
    expect(secrets.sort()).toEqual(['Secret/istio-system/gw-cert', 'Secret/istio-system/mtls-cert']);
    const gw = objects.find((o) => o.key === 'Secret/istio-system/gw-cert')?.object as Obj;
    expect(Object.keys(gw['data'] as Obj).sort()).toEqual(['tls.crt', 'tls.key']);
    const dump = (await httpRequest(`${app.url('http')}/debug/config_dump?proxyID=${encodeURIComponent(ROUTER)}`)).body;
    const sds = (JSON.parse(dump) as { sds: Obj[] }).sds;
    expect(sds.map((s) => s['name']).sort()).toEqual(NAMES);
    const tc = sds.find((s) => s['name'] === 'gw-cert')?.['tls_certificate'] as Obj;
    expect(tc['private_key']).toEqual({ inline_string: '[redacted]' });
    const registryz = (await httpRequest(`${app.url('http')}/debug/registryz`)).body;
    const everything = [configz, dump, registryz, ...app.logs].join('\n');
    for (const c of [first, second, third, mtls]) {
      expect(everything).not.toContain(keyBody(c));
      expect(everything).not.toContain(b64(c.key));
    }
    expect(everything).not.toContain('PRIVATE KEY');
    expect(everything).not.toContain(b64('sa-token-value'));
    expect(everything).not.toContain(b64('opaque-password-value'));
    expect(everything).not.toContain(b64('helm-key-value'));
  });

  it('lists and watches Secrets with a field selector: tokens and Helm releases never leave the API server', () => {
    const served = kube.sent.filter((s) => s.startsWith(`${SECRETS} `));
    expect(served).toContain(`${SECRETS} istio-system/gw-cert`);
    expect(served).not.toContain(`${SECRETS} istio-system/default-token-x`);
    expect(served).not.toContain(`${SECRETS} istio-system/sh.helm.release.v1.mesh.v1`);
    expect(kube.requests).toEqual(expect.arrayContaining([`LIST ${SECRETS}`, `WATCH ${SECRETS}`]));
  });
});
