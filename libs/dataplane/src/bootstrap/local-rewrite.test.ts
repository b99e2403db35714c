import { TYPE_URLS, emptySnapshot, type Msg } from '../engine/types';
import { LocalRewrites, prepareListenersForCheck, prepareSnapshot, type PrepareOptions } from './local-rewrite';
import { TRACING_FILTER_NAME } from './tracing-filter';

const hcm = (prefix: string, extra: Msg = {}) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': TYPE_URLS.hcm,
    stat_prefix: prefix,
    rds: { route_config_name: prefix, config_source: { ads: {} } },
    http_filters: [{ name: 'envoy.filters.http.router' }],
    ...extra,
  },
});
const addr = (a: string, p: number) => ({ socket_address: { address: a, port_value: p } });

const listeners: Msg[] = [
  { name: 'virtual', address: addr('0.0.0.0', 15001), use_original_dst: { value: true }, filter_chains: [] },
  {
    name: '10.0.0.5_9080',
    address: addr('10.0.0.5', 9080),
    traffic_direction: 'INBOUND',
    bind_to_port: { value: false },
    filter_chains: [{ filters: [hcm('inbound|9080||reviews')] }],
  },
  {
    name: '0.0.0.0_9080',
    address: addr('0.0.0.0', 9080),
    traffic_direction: 'OUTBOUND',
    bind_to_port: { value: false },
    filter_chains: [{ filters: [hcm('9080')] }],
  },
  {
    name: '0.0.0.0_80',
    address: addr('0.0.0.0', 80),
    filter_chains: [{ filters: [hcm('http.80', { tracing: { random_sampling: { value: 25 } } })] }],
  },
];
const clusters: Msg[] = [
  {
    name: 'inbound|9080||reviews',
    type: 'STATIC',
    load_assignment: {
      cluster_name: 'x',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: addr('127.0.0.1', 9080) } }] }],
    },
  },
  { name: 'outbound|9080||ratings', type: 'EDS' },
];

const opts = (over: Partial<PrepareOptions> = {}): PrepareOptions => ({
  bindings: {
    outboundAddress: '127.0.0.1:15001',
    inboundAddress: '127.0.0.1:0',
    appAddress: '127.0.0.1:19080',
    portMap: new Map([[80, '127.0.0.1:8080']]),
  },
  nodeId: 'sidecar~10.0.0.5~reviews-v1.default~default.svc.cluster.local',
  defaultSpanKind: 'SERVER',
  tracing: true,
  ...over,
});

describe('prepareSnapshot', () => {
  const input = { ...emptySnapshot(), listeners, clusters };
  const frozen = JSON.stringify(input);
  const { snapshot, accessLogs, errors } = prepareSnapshot(
    input,
    opts({ defaultAccessLog: { path: '/dev/stdout', encoding: 'JSON' } }),
  );
  const byName = (n: string) => snapshot.listeners.find((l) => l['name'] === n) as Msg;

  it('binds capture and inbound listeners where the flags say, and maps gateway ports', () => {
    expect(byName('virtual')['address']).toEqual(addr('127.0.0.1', 15001));
    expect(byName('10.0.0.5_9080')).toMatchObject({ address: addr('127.0.0.1', 0), bind_to_port: { value: true } });
    expect(byName('0.0.0.0_9080')).toBeUndefined();
    expect(byName('0.0.0.0_80')['address']).toEqual(addr('127.0.0.1', 8080));
  });

  it('binds inbound listeners at their own address with bindInboundListeners', () => {
    const out = prepareSnapshot(input, opts({ bindings: { bindInboundListeners: true }, tracing: false })).snapshot;
    const l = out.listeners.find((x) => x['name'] === '10.0.0.5_9080') as Msg;
    expect(l).toMatchObject({ address: addr('10.0.0.5', 9080), bind_to_port: { value: true } });
    expect(out.listeners.find((x) => x['name'] === '0.0.0.0_9080')).toBeUndefined();
  });

  it('points inbound clusters at the app', () => {
    expect(snapshot.clusters[0]['load_assignment'].endpoints[0].lb_endpoints[0].endpoint.address).toEqual(
      addr('127.0.0.1', 19080),
    );
    expect(snapshot.clusters[1]).toBe(clusters[1]);
  });

  it('puts the tracing filter first with the span kind of the listener direction and HCM sampling', () => {
    const first = (n: string) => byName(n)['filter_chains'][0].filters[0].typed_config.http_filters[1];
    expect(byName('10.0.0.5_9080')['filter_chains'][0].filters[0].typed_config.http_filters[0].name).toBe(
      'tsmesh.filters.http.response_capture',
    );
    expect(first('10.0.0.5_9080')).toMatchObject({ name: TRACING_FILTER_NAME, typed_config: { kind: 'SERVER' } });
    const outbound = prepareSnapshot(input, opts({ bindings: { portMap: new Map([[9080, '127.0.0.1:0']]) } })).snapshot
      .listeners;
    const out9080 = outbound.find((l) => l['name'] === '0.0.0.0_9080') as Msg;
    expect(out9080['filter_chains'][0].filters[0].typed_config.http_filters[0]).toMatchObject({
      typed_config: { kind: 'CLIENT' },
    });
    expect(out9080['filter_chains'][0].filters[0].typed_config.http_filters).toHaveLength(2);
    expect(first('0.0.0.0_80').typed_config).toMatchObject({ kind: 'SERVER', sampling_percent: 25 });
  });

  it('indexes the mesh default access log per listener and stat prefix', () => {
    expect(errors).toEqual([]);
    expect(accessLogs.get('0.0.0.0_80')?.get('http.80')?.[0].path).toBe('/dev/stdout');
    expect([...accessLogs.values()].reduce((n, byPrefix) => n + byPrefix.size, 0)).toBe(2);
  });

  it('never mutates the resources it was given (config_dump shows them as sent)', () => {
    expect(JSON.stringify(input)).toBe(frozen);
  });

  it('logs TCP proxies in the TCP format by default', () => {
    const tcp = prepareSnapshot(
      {
        ...emptySnapshot(),
        listeners: [
          {
            name: '10.96.0.5_3306',
            filter_chains: [
              {
                filters: [
                  {
                    name: 'envoy.filters.network.tcp_proxy',
                    typed_config: { '@type': TYPE_URLS.tcpProxy, stat_prefix: 'mysql', cluster: 'db' },
                  },
                ],
              },
            ],
          },
        ],
      },
      opts({ tracing: true, defaultAccessLog: { path: '/dev/stdout', encoding: 'TEXT' } }),
    );
    const logger = tcp.accessLogs.get('10.96.0.5_3306')?.get('mysql')?.[0];
    expect(logger?.format({ startTime: 0, bytesReceived: 3, bytesSent: 4, durationMs: 5, upstreamCluster: 'db' })).toBe(
      '[1970-01-01T00:00:00.000Z] - 3 4 5 "-" db - - -\n',
    );
    expect(tcp.snapshot.listeners[0]['filter_chains'][0].filters).toHaveLength(1);
  });

  it('reports bad access log configs as field errors', () => {
    const bad = prepareSnapshot(
      {
        ...emptySnapshot(),
        listeners: [
          {
            name: 'l',
            filter_chains: [
              {
                filters: [
                  hcm('p', {
                    access_log: [
                      {
                        name: 'envoy.access_loggers.file',
                        typed_config: { path: '/tmp/x', log_format: { text_format: '%NOPE%' } },
                      },
                    ],
                  }),
                ],
              },
            ],
          },
        ],
      },
      opts({ tracing: false }),
    );
    expect(bad.errors[0].path).toBe(
      'listeners[0].filter_chains[0].filters[0].typed_config.access_log[0].typed_config.log_format',
    );
    expect(bad.errors[0].message).toContain('unknown operator %NOPE%');
  });

  it('turns require_tls virtual hosts of plaintext-only route configs into https redirects', () => {
    const routes = [
      {
        name: 'http.80',
        virtual_hosts: [
          {
            name: 'a',
            domains: ['a.com'],
            require_tls: 'ALL',
            routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }],
          },
          { name: 'b', domains: ['*'], routes: [] },
        ],
      },
    ];
    const out = prepareSnapshot({ ...emptySnapshot(), listeners, routes }, opts({ tracing: false })).snapshot.routes[0];
    expect(out['virtual_hosts'][0]).toEqual({
      name: 'a',
      domains: ['a.com'],
      routes: [{ name: 'require_tls', match: { prefix: '/' }, redirect: { https_redirect: true } }],
    });
    expect(out['virtual_hosts'][1]).toBe(routes[0].virtual_hosts[1]);
  });

  it('gives the same redirect route configuration for the same received one (with LocalRewrites)', () => {
    const routes = [
      { name: 'http.80', virtual_hosts: [{ name: 'a', domains: ['*'], require_tls: 'ALL', routes: [] }] },
      { name: 'other', virtual_hosts: [] },
    ];
    const rewrites = new LocalRewrites();
    const snap = { ...emptySnapshot(), listeners, routes };
    const a = prepareSnapshot(snap, opts({ tracing: false }), rewrites).snapshot.routes;
    const b = prepareSnapshot(snap, opts({ tracing: false }), rewrites).snapshot.routes;
    expect(a[0]).not.toBe(routes[0]);
    expect(b[0]).toBe(a[0]);
    expect(b[1]).toBe(routes[1]);
  });
});

describe('LocalRewrites: the same rewritten object for the same received listener', () => {
  const input = { ...emptySnapshot(), listeners, clusters };
  const defaultLog = { path: '/dev/stdout', encoding: 'TEXT' as const };
  const o = opts({ defaultAccessLog: defaultLog });
  const byName = (ls: Msg[], n: string) => ls.find((l) => l['name'] === n) as Msg;

  it('gives the same objects for the same listener objects and options; the same access-log index', () => {
    const rewrites = new LocalRewrites();
    const a = prepareSnapshot(input, o, rewrites);
    const b = prepareSnapshot({ ...input, clusters: [...clusters] }, opts({ defaultAccessLog: defaultLog }), rewrites);
    expect(b.snapshot.listeners).toHaveLength(a.snapshot.listeners.length);
    b.snapshot.listeners.forEach((l, i) => expect(l).toBe(a.snapshot.listeners[i]));
    expect(b.accessLogs).toEqual(a.accessLogs);
    // Without the memo every push makes new copies of the listeners it injects filters into.
    expect(prepareSnapshot(input, o).snapshot.listeners[1]).not.toBe(a.snapshot.listeners[1]);
  });

  it('rewrites again when the listener object, the options or the binding change', () => {
    const rewrites = new LocalRewrites();
    const first = prepareSnapshot(input, o, rewrites).snapshot.listeners;
    const copy = structuredClone(listeners[3]);
    const changedObject = prepareSnapshot({ ...input, listeners: [...listeners.slice(0, 3), copy] }, o, rewrites);
    expect(byName(changedObject.snapshot.listeners, '0.0.0.0_80')).not.toBe(byName(first, '0.0.0.0_80'));
    expect(byName(changedObject.snapshot.listeners, 'virtual')).toBe(byName(first, 'virtual'));

    const noTracing = prepareSnapshot(input, opts({ defaultAccessLog: defaultLog, tracing: false }), rewrites);
    const l80 = byName(noTracing.snapshot.listeners, '0.0.0.0_80');
    expect(l80['filter_chains'][0].filters[0].typed_config.http_filters.map((f: Msg) => f['name'])).toEqual([
      'tsmesh.filters.http.response_capture',
      'envoy.filters.http.router',
    ]);
    const noLog = prepareSnapshot(input, opts(), rewrites);
    expect(noLog.accessLogs.size).toBe(0);
    expect(
      byName(noLog.snapshot.listeners, '0.0.0.0_80')['filter_chains'][0].filters[0].typed_config.http_filters,
    ).toHaveLength(2);

    // A second inbound candidate: neither is the single inbound listener any more.
    const other = { ...listeners[1], name: '10.0.0.5_9090', address: addr('10.0.0.5', 9090) };
    const two = prepareSnapshot({ ...input, listeners: [...listeners, other] }, o, rewrites).snapshot.listeners;
    expect(byName(two, '10.0.0.5_9080')).toBeUndefined();
    const one = prepareSnapshot(input, o, rewrites).snapshot.listeners;
    expect(byName(one, '10.0.0.5_9080')['address']).toEqual(addr('127.0.0.1', 0));
  });

  it('hands the ACK check the objects the application runs, and the received ones it leaves out', () => {
    const rewrites = new LocalRewrites();
    const check = prepareListenersForCheck(listeners, o, rewrites);
    expect(check.listeners).toHaveLength(listeners.length);
    expect(check.listeners[2]).toBe(listeners[2]); // bind_to_port false: checked as sent, not run
    const applied = prepareSnapshot(input, o, rewrites).snapshot.listeners;
    for (const l of applied) expect(check.listeners).toContain(l);
    expect(check.errors).toEqual([]);
  });

  it('translates Istio cert files in listeners once per object', () => {
    const tls = {
      ...listeners[3],
      filter_chains: [
        {
          ...listeners[3]['filter_chains'][0],
          transport_socket: {
            name: 'tls',
            typed_config: {
              common_tls_context: {
                tls_certificates: [
                  {
                    certificate_chain: { filename: '/etc/certs/cert-chain.pem' },
                    private_key: { filename: '/etc/certs/key.pem' },
                  },
                ],
              },
            },
          },
        },
      ],
    };
    const rewrites = new LocalRewrites();
    const withSds = opts({ certFilesToSds: true });
    const a = prepareSnapshot({ ...emptySnapshot(), listeners: [tls] }, withSds, rewrites).snapshot.listeners[0];
    const b = prepareSnapshot({ ...emptySnapshot(), listeners: [tls] }, withSds, rewrites).snapshot.listeners[0];
    expect(b).toBe(a);
    expect(a['filter_chains'][0].transport_socket.typed_config.common_tls_context).toEqual({
      tls_certificate_sds_secret_configs: [{ name: 'default' }],
    });
  });

  it("maps an engine error about an injected-into filter list back to the user's indices", () => {
    const check = prepareListenersForCheck(listeners, o, new LocalRewrites());
    const at = (n: number) =>
      `listener "0.0.0.0_80": filter_chains[0].filters[0].typed_config.http_filters[${n}].name: unknown HTTP filter "x"`;
    expect(check.userError(at(2))).toBe(at(0));
    expect(check.userError(at(1))).toBe(at(1)); // one of the proxy's own filters: left as is
    const other = 'listener "virtual": filter_chains: at least one filter chain is required';
    expect(check.userError(other)).toBe(other);
  });

  it('checks a listener bound elsewhere with its own address when that one is invalid', () => {
    const noAddress = { ...listeners[0], address: undefined };
    const check = prepareListenersForCheck([noAddress], o, new LocalRewrites());
    expect(check.listeners[0]['address']).toBeUndefined();
    expect(prepareSnapshot({ ...emptySnapshot(), listeners: [noAddress] }, o).snapshot.listeners[0]['address']).toEqual(
      addr('127.0.0.1', 15001),
    );
  });
});
