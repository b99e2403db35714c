/**
 * Sidecar outbound TCP/TLS listeners by simulation: a connection (original destination, SNI) from a given sidecar
 * is walked through the generated Listeners as Envoy would and lands on an Istio-named cluster.
 */
import { BOOKINFO_YAML, contextFrom, productpage, sidecar } from '../testing/bookinfo';
import { simulateConnection } from '../testing/simulate-listener';
import { validateMessage } from '@tsmesh/protocol';
import { parseNode } from '../model/proxy';
import type { PushContext } from '../model/push-context';
import { generate } from './generator';
import { TYPE, type Msg } from './names';

const se = (
  name: string,
  host: string,
  port: number,
  protocol: string,
  extra = '',
) => `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${JSON.stringify(host)}]
  ports: [{number: ${port}, name: ${protocol.toLowerCase()}, protocol: ${protocol}}]
  resolution: ${extra || 'DNS'}
`;

const MYSQL = `apiVersion: v1
kind: Service
metadata: {name: mysqldb, namespace: default}
spec:
  clusterIP: 10.96.0.20
  selector: {app: mysqldb}
  ports: [{name: tcp, port: 3306}]
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: mysqldb}
spec:
  host: mysqldb
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`;

const EGRESS_GW = `apiVersion: v1
kind: Service
metadata: {name: istio-egressgateway, namespace: istio-system}
spec:
  clusterIP: 10.96.0.50
  selector: {istio: egressgateway}
  ports: [{name: https, port: 443}, {name: http2, port: 80}]
`;

function listeners(docs: string[] | PushContext, proxy = productpage()): Msg[] {
  const ctx = Array.isArray(docs) ? contextFrom([BOOKINFO_YAML, ...docs]) : docs;
  return (generate(TYPE.listener, proxy, ctx, []) ?? []) as Msg[];
}

/** Chains of listener `name` whose server_names include `sni`. */
function chainsFor(ls: Msg[], name: string, sni: string): Msg[] {
  const l = ls.find((x) => x['name'] === name) as Msg;
  return (l['filter_chains'] as Msg[]).filter((c) =>
    ((c['filter_chain_match'] as Msg | undefined)?.['server_names'] as string[] | undefined)?.includes(sni),
  );
}

const GOOGLE = 'outbound|443||www.google.com';

describe('sidecar TLS (SNI) routes', () => {
  it('sends a TLS connection with SNI www.google.com to the ServiceEntry cluster, without a VirtualService', () => {
    const ls = listeners([se('google', 'www.google.com', 443, 'TLS')]);
    const r = simulateConnection(ls, { ip: '142.250.1.1', port: 443, sni: 'www.google.com' });
    expect(r?.listener).toBe('0.0.0.0_443');
    expect(r?.cluster).toBe(GOOGLE);
    const l = ls.find((x) => x['name'] === '0.0.0.0_443') as Msg;
    expect((l['listener_filters'] as Msg[]).map((f) => f['name'])).toEqual(['envoy.filters.listener.tls_inspector']);
    // An SNI no service claims follows the outbound policy (Istio 1.3+ listener fallthrough), ALLOW_ANY here.
    expect(simulateConnection(ls, { ip: '142.250.1.1', port: 443, sni: 'evil.example' })?.cluster).toBe(
      'PassthroughCluster',
    );
    expect(simulateConnection(ls, { ip: '142.250.1.1', port: 443 })?.cluster).toBe('PassthroughCluster');
    expect(validateMessage(TYPE.listener, l)).toEqual([]);
  });

  it('blackholes an SNI no ServiceEntry allows under REGISTRY_ONLY, keeping the allowed ones', () => {
    const ctx = contextFrom([BOOKINFO_YAML, se('google', 'www.google.com', 443, 'TLS')], {
      outboundTrafficPolicy: 'REGISTRY_ONLY',
    });
    const ls = listeners(ctx);
    expect(simulateConnection(ls, { ip: '142.250.1.1', port: 443, sni: 'www.google.com' })?.cluster).toBe(GOOGLE);
    expect(simulateConnection(ls, { ip: '142.250.1.1', port: 443, sni: 'evil.example' })?.cluster).toBe(
      'BlackHoleCluster',
    );
  });

  it('merges the SNI chains of several external HTTPS/TLS hosts sharing 0.0.0.0_443', () => {
    const ls = listeners([
      se('google', 'www.google.com', 443, 'HTTPS'),
      se('api', 'api.example.com', 443, 'TLS'),
      se('wiki', '*.wikipedia.org', 443, 'TLS', 'NONE'),
    ]);
    expect(ls.filter((l) => l['name'] === '0.0.0.0_443')).toHaveLength(1);
    expect(simulateConnection(ls, { ip: '1.2.3.4', port: 443, sni: 'www.google.com' })?.cluster).toBe(GOOGLE);
    expect(simulateConnection(ls, { ip: '1.2.3.4', port: 443, sni: 'api.example.com' })?.cluster).toBe(
      'outbound|443||api.example.com',
    );
    expect(simulateConnection(ls, { ip: '1.2.3.4', port: 443, sni: 'en.wikipedia.org' })?.cluster).toBe(
      'outbound|443||*.wikipedia.org',
    );
  });

  it('routes by sniHosts to weighted destinations and drops unreachable duplicate matches', () => {
    const ls = listeners([
      se('wiki', '*.wikipedia.org', 443, 'TLS', 'NONE'),
      se('en', 'en.wikipedia.org', 443, 'TLS'),
      se('de', 'de.wikipedia.org', 443, 'TLS'),
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: wiki}
spec:
  hosts: ["*.wikipedia.org"]
  tls:
  - match: [{port: 443, sniHosts: [en.wikipedia.org]}]
    route:
    - {destination: {host: en.wikipedia.org}, weight: 80}
    - {destination: {host: de.wikipedia.org}, weight: 20}
  - match: [{port: 443, sniHosts: [en.wikipedia.org]}]
    route: [{destination: {host: de.wikipedia.org}}]
  - match: [{port: 443, sniHosts: ["*.wikipedia.org"]}]
    route: [{destination: {host: de.wikipedia.org}}]
`,
    ]);
    expect(simulateConnection(ls, { ip: '1.2.3.4', port: 443, sni: 'en.wikipedia.org' })?.weighted).toEqual([
      { name: 'outbound|443||en.wikipedia.org', weight: 80 },
      { name: 'outbound|443||de.wikipedia.org', weight: 20 },
    ]);
    expect(simulateConnection(ls, { ip: '1.2.3.4', port: 443, sni: 'fr.wikipedia.org' })?.cluster).toBe(
      'outbound|443||de.wikipedia.org',
    );
    // Envoy rejects two chains claiming one server name: the second en.wikipedia.org match is left out.
    expect(chainsFor(ls, '0.0.0.0_443', 'en.wikipedia.org')).toHaveLength(1);
  });

  it('sends mesh traffic for an external host to the egress gateway (Istio egress TLS origination example)', () => {
    const ls = listeners([
      EGRESS_GW,
      se('cnn', 'edition.cnn.com', 443, 'TLS'),
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: direct-cnn-through-egress-gateway}
spec:
  hosts: [edition.cnn.com]
  gateways: [istio-egressgateway, mesh]
  tls:
  - match: [{gateways: [mesh], port: 443, sniHosts: [edition.cnn.com]}]
    route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local, subset: cnn, port: {number: 443}}}]
  - match: [{gateways: [istio-egressgateway], port: 443, sniHosts: [edition.cnn.com]}]
    route: [{destination: {host: edition.cnn.com, port: {number: 443}}}]
`,
    ]);
    expect(simulateConnection(ls, { ip: '151.101.1.67', port: 443, sni: 'edition.cnn.com' })?.cluster).toBe(
      'outbound|443|cnn|istio-egressgateway.istio-system.svc.cluster.local',
    );
  });

  it('evaluates tls sourceLabels per proxy and matches destinationSubnets as prefix_ranges', () => {
    const docs = [
      se('google', 'www.google.com', 443, 'TLS'),
      se('alt', 'alt.google.com', 443, 'TLS'),
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: google}
spec:
  hosts: [www.google.com]
  tls:
  - match: [{sniHosts: [www.google.com], sourceLabels: {app: reviews}}]
    route: [{destination: {host: alt.google.com}}]
  - match: [{sniHosts: [www.google.com], destinationSubnets: [142.250.0.0/16]}]
    route: [{destination: {host: alt.google.com}}]
  - match: [{sniHosts: [www.google.com]}]
    route: [{destination: {host: www.google.com}}]
`,
    ];
    const reviews = sidecar('10.1.0.21', 'reviews-v1-abc', { app: 'reviews', version: 'v1' });
    const conn = { ip: '8.8.8.8', port: 443, sni: 'www.google.com' };
    expect(simulateConnection(listeners(docs, reviews), conn)?.cluster).toBe('outbound|443||alt.google.com');
    expect(simulateConnection(listeners(docs), conn)?.cluster).toBe(GOOGLE);
    expect(simulateConnection(listeners(docs), { ...conn, ip: '142.250.3.4' })?.cluster).toBe(
      'outbound|443||alt.google.com',
    );
  });
});

describe('sidecar TCP route matches', () => {
  const tcpVs = (body: string) => `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: mysqldb}
spec:
  hosts: [mysqldb]
  tcp:
${body}`;

  it('keeps the default cluster on the VIP listener without a VirtualService', () => {
    const r = simulateConnection(listeners([MYSQL]), { ip: '10.96.0.20', port: 3306 });
    expect(r?.listener).toBe('10.96.0.20_3306');
    expect(r?.cluster).toBe('outbound|3306||mysqldb.default.svc.cluster.local');
  });

  it('evaluates sourceLabels per proxy and ignores matches bound to another gateway', () => {
    const docs = [
      MYSQL,
      tcpVs(`  - match: [{port: 3306, gateways: [some-gateway]}]
    route: [{destination: {host: mysqldb, subset: v2}}]
  - match: [{port: 3306, sourceLabels: {app: reviews}}]
    route: [{destination: {host: mysqldb, subset: v2}}]
  - route: [{destination: {host: mysqldb, subset: v1}}]
`),
    ];
    const reviews = sidecar('10.1.0.21', 'reviews-v1-abc', { app: 'reviews', version: 'v1' });
    const conn = { ip: '10.96.0.20', port: 3306 };
    // One push context for both proxies: the per-push listener cache must key on the labels.
    const ctx = contextFrom([BOOKINFO_YAML, ...docs]);
    expect(simulateConnection(listeners(ctx, reviews), conn)?.cluster).toBe(
      'outbound|3306|v2|mysqldb.default.svc.cluster.local',
    );
    expect(simulateConnection(listeners(ctx), conn)?.cluster).toBe(
      'outbound|3306|v1|mysqldb.default.svc.cluster.local',
    );
  });

  it('turns destinationSubnets into prefix_ranges chains before the catch-all', () => {
    const docs = [
      se('db', 'db.external', 27017, 'TCP', 'NONE'),
      se('dba', 'db-a.external', 27018, 'TCP'),
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.external]
  tcp:
  - match: [{destinationSubnets: [10.20.0.0/16, 10.21.0.5]}]
    route:
    - {destination: {host: db-a.external, port: {number: 27018}}, weight: 60}
    - {destination: {host: db.external}, weight: 40}
`,
    ];
    const ls = listeners(docs);
    expect(simulateConnection(ls, { ip: '10.20.7.7', port: 27017 })?.weighted).toEqual([
      { name: 'outbound|27018||db-a.external', weight: 60 },
      { name: 'outbound|27017||db.external', weight: 40 },
    ]);
    expect(simulateConnection(ls, { ip: '10.21.0.5', port: 27017 })?.weighted).toHaveLength(2);
    expect(simulateConnection(ls, { ip: '10.30.0.1', port: 27017 })?.cluster).toBe('outbound|27017||db.external');
  });
});

describe('ServiceEntry addresses as listeners (CIDR → prefix_ranges on 0.0.0.0_<port>)', () => {
  const cidrSe = (name: string, host: string, addresses: string, port = 7000, protocol = 'TCP') =>
    `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  addresses: ${addresses}
  ports: [{number: ${port}, name: ${protocol.toLowerCase()}, protocol: ${protocol}}]
  location: MESH_EXTERNAL
  resolution: NONE
`;

  it('sends TCP traffic to any address of a range to that ServiceEntry, longest range first', () => {
    const ls = listeners([
      cidrSe('corp', 'corp.internal', '[10.0.0.0/16]'),
      cidrSe('lab', 'lab.internal', '[10.0.5.0/24, 192.168.0.0/16]'),
      cidrSe('one', 'one.internal', '[10.9.9.9/32]'),
    ]);
    expect(ls.filter((l) => String(l['name']).endsWith('_7000')).map((l) => l['name'])).toEqual([
      '0.0.0.0_7000',
      '10.9.9.9_7000',
    ]);
    const to = (ip: string) => simulateConnection(ls, { ip, port: 7000 });
    expect(to('10.0.77.1')?.listener).toBe('0.0.0.0_7000');
    expect(to('10.0.77.1')?.cluster).toBe('outbound|7000||corp.internal');
    expect(to('10.0.5.20')?.cluster).toBe('outbound|7000||lab.internal');
    expect(to('192.168.3.4')?.cluster).toBe('outbound|7000||lab.internal');
    // A /32 is a plain address: its own listener, as Istio converts it.
    expect(to('10.9.9.9')).toMatchObject({ listener: '10.9.9.9_7000', cluster: 'outbound|7000||one.internal' });
    // Outside every range: the outbound policy.
    expect(to('172.16.0.1')?.cluster).toBe('PassthroughCluster');
    const l = ls.find((x) => x['name'] === '0.0.0.0_7000') as Msg;
    const first = (l['filter_chains'] as Msg[])[0];
    expect(first['filter_chain_match']).toEqual({
      prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 16 } }],
    });
    expect(validateMessage(TYPE.listener, l)).toEqual([]);
  });

  it('keeps a tcp route destinationSubnets over the range and routes the rest of the range by the route', () => {
    const ls = listeners([
      cidrSe('corp', 'corp.internal', '[10.0.0.0/16]'),
      se('alt', 'alt.internal', 7000, 'TCP'),
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: corp}
spec:
  hosts: [corp.internal]
  tcp:
  - match: [{destinationSubnets: [10.0.1.0/24]}]
    route: [{destination: {host: alt.internal}}]
  - route: [{destination: {host: corp.internal}}]
`,
    ]);
    const to = (ip: string) => simulateConnection(ls, { ip, port: 7000 })?.cluster;
    expect(to('10.0.1.9')).toBe('outbound|7000||alt.internal');
    expect(to('10.0.2.9')).toBe('outbound|7000||corp.internal');
  });

  it('matches TLS ports of a range by address without requiring the SNI', () => {
    const ls = listeners([cidrSe('corp', 'corp.internal', '[10.0.0.0/16]', 8443, 'TLS')]);
    expect(simulateConnection(ls, { ip: '10.0.3.3', port: 8443, sni: 'anything.example' })?.cluster).toBe(
      'outbound|8443||corp.internal',
    );
  });
});

describe('gateway TLS passthrough and TCP servers', () => {
  const egress = parseNode({
    id: 'router~10.1.0.201~istio-egressgateway-x.istio-system~istio-system.svc.cluster.local',
    metadata: { LABELS: { istio: 'egressgateway' } },
  });
  const docs = [
    EGRESS_GW,
    se('cnn', 'edition.cnn.com', 443, 'TLS'),
    se('db', 'db.external', 27017, 'TCP'),
    `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: istio-egressgateway}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: [edition.cnn.com]
    tls: {mode: PASSTHROUGH}
  - port: {number: 27017, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: direct-cnn-through-egress-gateway}
spec:
  hosts: [edition.cnn.com]
  gateways: [istio-egressgateway, mesh]
  tls:
  - match: [{gateways: [mesh], port: 443, sniHosts: [edition.cnn.com]}]
    route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local, port: {number: 443}}}]
  - match: [{gateways: [istio-egressgateway], port: 443, sniHosts: [edition.cnn.com]}]
    route: [{destination: {host: edition.cnn.com, port: {number: 443}}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.external]
  gateways: [istio-egressgateway]
  tcp:
  - match: [{port: 9999}]
    route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local, port: {number: 443}}}]
  - match: [{port: 27017}]
    route: [{destination: {host: db.external, port: {number: 27017}}}]
`,
  ];

  it('sends the egress gateway its own tls match, not the mesh one (no loop back to itself)', () => {
    const ls = listeners(docs, egress);
    const r = simulateConnection(ls, { ip: '10.1.0.201', port: 443, sni: 'edition.cnn.com' });
    expect(r?.cluster).toBe('outbound|443||edition.cnn.com');
    expect(simulateConnection(ls, { ip: '10.1.0.201', port: 443, sni: 'other.example' })).toBeUndefined();
    const l = ls.find((x) => x['name'] === '0.0.0.0_443') as Msg;
    expect(validateMessage(TYPE.listener, l)).toEqual([]);
  });

  it('takes the first tcp route whose match applies to the server port', () => {
    const r = simulateConnection(listeners(docs, egress), { ip: '10.1.0.201', port: 27017 });
    expect(r?.cluster).toBe('outbound|27017||db.external');
  });
});
