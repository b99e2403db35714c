import { parseNode } from '../model/proxy';
import { BOOKINFO_YAML, contextFrom } from '../testing/bookinfo';
import { simulate } from '../testing/simulate';
import { validateMessage } from '@tsmesh/protocol';
import { generate, generateListeners, generateRoutes } from './generator';
import { TYPE } from './names';
import type { Msg } from './names';

const GATEWAY = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [bookinfo.example.com]
    tls: {httpsRedirect: true}
  - port: {number: 8080, name: http-alt, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: SIMPLE, serverCertificate: /etc/istio/ingressgateway-certs/tls.crt, privateKey: /etc/istio/ingressgateway-certs/tls.key}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: bookinfo}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {exact: /productpage}}, {uri: {prefix: /static}}]
    route: [{destination: {host: productpage, port: {number: 9080}}}]
`;

const router = parseNode({
  id: 'router~10.1.0.200~istio-ingressgateway-x.istio-system~istio-system.svc.cluster.local',
  metadata: { LABELS: { istio: 'ingressgateway' } },
});

describe('gateway (router mode) by simulation', () => {
  const ctx = contextFrom([BOOKINFO_YAML, GATEWAY]);

  it('selects a gateway whose LABELS arrive as JSON text (a gateway started from flags)', () => {
    const fromFlags = parseNode({
      id: 'router~10.1.0.201~istio-ingressgateway-y.istio-system~istio-system.svc.cluster.local',
      metadata: { LABELS: '{"istio":"ingressgateway"}' },
    });
    expect(generateListeners(fromFlags, ctx, []).map((l) => l['name'])).toContain('0.0.0.0_80');
  });

  it('builds one listener per server port with Istio route names', () => {
    const listeners = generateListeners(router, ctx, []);
    expect(listeners.map((l) => l['name'])).toEqual(['0.0.0.0_80', '0.0.0.0_443', '0.0.0.0_8080']);
    const https = listeners.find((l) => l['name'] === '0.0.0.0_443') as Msg;
    const chain = (https['filter_chains'] as Msg[])[0];
    expect(chain['filter_chain_match']).toEqual({ server_names: ['bookinfo.example.com'] });
    const hcm = (chain['filters'] as Msg[])[0]['typed_config'] as Msg;
    expect((hcm['rds'] as Msg)['route_config_name']).toBe('https.443.https');
  });

  it('routes bound VirtualServices and 404s the rest', () => {
    const [rc] = generateRoutes(router, ctx, ['http.8080']);
    expect(simulate(rc, { authority: 'anything.example:8080', path: '/productpage' })?.cluster).toBe(
      'outbound|9080||productpage.default.svc.cluster.local',
    );
    expect(simulate(rc, { authority: 'x', path: '/static/app.css' })?.cluster).toBe(
      'outbound|9080||productpage.default.svc.cluster.local',
    );
    expect(simulate(rc, { authority: 'x', path: '/admin' })).toBeUndefined();
    const [tls] = generateRoutes(router, ctx, ['https.443.https']);
    expect(simulate(tls, { authority: 'bookinfo.example.com', path: '/productpage' })?.cluster).toBe(
      'outbound|9080||productpage.default.svc.cluster.local',
    );
  });

  it('marks httpsRedirect servers require_tls ALL', () => {
    const [rc] = generateRoutes(router, ctx, ['http.80']);
    const vh = (rc['virtual_hosts'] as Msg[])[0];
    expect(vh['require_tls']).toBe('ALL');
  });

  it('ignores VirtualServices not bound to a gateway on sidecars, and gateways for unselected routers', () => {
    const other = parseNode({
      id: 'router~10.1.0.201~egress.istio-system~istio-system.svc.cluster.local',
      metadata: { LABELS: { istio: 'egressgateway' } },
    });
    expect(generateListeners(other, ctx, [])).toEqual([]);
  });
});

describe('gateway TLS from a Kubernetes secret (credentialName, SDS)', () => {
  const secret = `apiVersion: v1
kind: Secret
metadata: {name: bookinfo-cert, namespace: istio-system}
type: kubernetes.io/tls
data: {tls.crt: ${Buffer.from('CERT').toString('base64')}, tls.key: ${Buffer.from('KEY').toString('base64')}}
`;
  const gw = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert}
`;
  it('references the secret over SDS and serves it as an Envoy Secret', () => {
    const ctx = contextFrom([BOOKINFO_YAML, secret, gw]);
    const [l] = generateListeners(router, ctx, []);
    const ts = ((l['filter_chains'] as Msg[])[0]['transport_socket'] as Msg)['typed_config'] as Msg;
    expect((ts['common_tls_context'] as Msg)['tls_certificate_sds_secret_configs']).toEqual([
      { name: 'bookinfo-cert', sds_config: { ads: {}, resource_api_version: 'V3' } },
    ]);
    const [s] = generate(TYPE.secret, router, ctx, ['bookinfo-cert']) ?? [];
    const tc = s['tls_certificate'] as Msg;
    expect(String((tc['certificate_chain'] as Msg)['inline_bytes'])).toBe('CERT');
    expect(validateMessage(TYPE.secret, s)).toEqual([]);
    expect(generate(TYPE.secret, router, ctx, ['missing'])).toEqual([]);
  });
});

describe('gateway TLS servers terminating TLS (protocol TLS, mode SIMPLE/MUTUAL) in front of tcp routes', () => {
  const docs = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: db, namespace: istio-system}
spec:
  hosts: [db.internal]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 10.2.0.1}]
---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: tls-gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 9443, name: tls-db, protocol: TLS}
    hosts: [db.example.com]
    tls: {mode: SIMPLE, serverCertificate: /certs/tls.crt, privateKey: /certs/tls.key}
  - port: {number: 9443, name: tls-db-mtls, protocol: TLS}
    hosts: [mdb.example.com]
    tls: {mode: MUTUAL, credentialName: mdb-cert}
  - port: {number: 9443, name: tls-pass, protocol: TLS}
    hosts: [pass.example.com]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: db, namespace: istio-system}
spec:
  hosts: [db.example.com, mdb.example.com]
  gateways: [tls-gw]
  tcp:
  - match: [{port: 9443}]
    route: [{destination: {host: db.internal, port: {number: 5432}}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: pass, namespace: istio-system}
spec:
  hosts: [pass.example.com]
  gateways: [tls-gw]
  tls:
  - match: [{port: 9443, sniHosts: [pass.example.com]}]
    route: [{destination: {host: db.internal, port: {number: 5432}}}]
`;

  const chainFor = (l: Msg, sni: string): Msg | undefined =>
    (l['filter_chains'] as Msg[]).find((c) =>
      ((c['filter_chain_match'] as Msg | undefined)?.['server_names'] as string[] | undefined)?.includes(sni),
    );
  const tcpCluster = (c: Msg | undefined) =>
    (((c?.['filters'] as Msg[])[0]['typed_config'] as Msg)['cluster'] as string | undefined) ?? '';

  it('terminates with the server certificate files, then TCP-proxies to the tcp route destination', () => {
    const [l] = generateListeners(router, contextFrom([docs]), []);
    expect(l['name']).toBe('0.0.0.0_9443');
    const simple = chainFor(l, 'db.example.com') as Msg;
    expect(tcpCluster(simple)).toBe('outbound|5432||db.internal');
    const ts = (simple['transport_socket'] as Msg)['typed_config'] as Msg;
    const common = ts['common_tls_context'] as Msg;
    expect(common['tls_certificates']).toEqual([
      { certificate_chain: { filename: '/certs/tls.crt' }, private_key: { filename: '/certs/tls.key' } },
    ]);
    // Not HTTP behind the handshake: no h2/http1.1 ALPN offered.
    expect(common['alpn_protocols']).toBeUndefined();
    expect(ts['require_client_certificate']).toEqual({ value: false });
    expect((l['listener_filters'] as Msg[]).map((f) => f['name'])).toEqual(['envoy.filters.listener.tls_inspector']);
    expect(validateMessage(TYPE.listener, l)).toEqual([]);
  });

  it('terminates MUTUAL with the credentialName secret and its -cacert validation context over SDS', () => {
    const [l] = generateListeners(router, contextFrom([docs]), []);
    const mutual = chainFor(l, 'mdb.example.com') as Msg;
    expect(tcpCluster(mutual)).toBe('outbound|5432||db.internal');
    const ts = (mutual['transport_socket'] as Msg)['typed_config'] as Msg;
    const common = ts['common_tls_context'] as Msg;
    expect(common['tls_certificate_sds_secret_configs']).toEqual([
      { name: 'mdb-cert', sds_config: { ads: {}, resource_api_version: 'V3' } },
    ]);
    expect((common['validation_context_sds_secret_config'] as Msg)['name']).toBe('mdb-cert-cacert');
    expect(ts['require_client_certificate']).toEqual({ value: true });
  });

  it('keeps PASSTHROUGH servers on SNI routing of tls routes, without a TLS context', () => {
    const [l] = generateListeners(router, contextFrom([docs]), []);
    const pass = chainFor(l, 'pass.example.com') as Msg;
    expect(tcpCluster(pass)).toBe('outbound|5432||db.internal');
    expect(pass['transport_socket']).toBeUndefined();
  });

  it('blackholes a terminating server no tcp route serves', () => {
    const ctx = contextFrom([docs.split('---\n').slice(0, 2).join('---\n')]);
    const [l] = generateListeners(router, ctx, []);
    expect(tcpCluster(chainFor(l, 'db.example.com'))).toBe('BlackHoleCluster');
  });
});
