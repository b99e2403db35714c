/**
 * The proxy rewrites each listener it runs (tracing filter first in every connection manager,
 * the response capture filter where access logs are on, local binding). Over xDS, the ACK/NACK
 * check (`ProxyRuntime.validate` → `Dataplane.validate`) builds the rewritten listener and the
 * application that follows installs that build: one build per accepted LDS update, none for a
 * CDS/EDS update that re-applies the same listeners. A counting HTTP filter in the user's
 * listener counts the builds (`parseConfig` runs once per build of the connection manager, as in
 * engine/compile-per-push.int.test.ts); requests through the listener, the access-log file and
 * the spans the Zipkin collector receives show the rewrite is in what runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  httpRequest,
  startZipkinCollector,
  tempDir,
  waitFor,
  type TempDir,
  type ZipkinCollector,
} from '@tsmesh/testing';
import { startUpstream, type TestUpstream } from '../engine/testing';
import { TYPE_URLS, type Msg } from '../engine/types';
import { registerBuiltinFilters } from '../filters/builtin';
import type { HttpFilterFactory } from '../filters/types';
import type { AdsStreamHandlers, AdsTransport } from '../xds-client/types';
import { parseBootstrap } from './load';
import { ProxyRuntime } from './proxy-runtime';

const COUNT_FILTER = 'tsmesh.test.listener_build_count';
const COUNT_TYPE = 'type.googleapis.com/tsmesh.test.ListenerBuildCount';
const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

/** One ADS stream whose responses the test writes. */
class ScriptedAds implements AdsTransport {
  private handlers?: AdsStreamHandlers;
  private version = 0;
  open(handlers: AdsStreamHandlers) {
    this.handlers = handlers;
    return { send: () => undefined, close: () => undefined };
  }
  close() {
    this.handlers = undefined;
  }
  push(typeUrl: string, resources: Msg[]) {
    this.version++;
    this.handlers?.onResponse({
      type_url: typeUrl,
      version_info: `v${this.version}`,
      nonce: `n${this.version}`,
      resources,
    });
  }
}

/** Listener `l`: the counting filter, `extraFilters`, the router; RDS `r`; access log from the mesh default. */
function listener(statPrefix: string, extraFilters: Msg[] = [], hcmExtra: Msg = {}): Msg {
  return {
    '@type': TYPE_URLS.listener,
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': TYPE_URLS.hcm,
              stat_prefix: statPrefix,
              rds: { route_config_name: 'r', config_source: { ads: {} } },
              http_filters: [{ name: COUNT_FILTER, typed_config: { '@type': COUNT_TYPE } }, ...extraFilters, ROUTER],
              ...hcmExtra,
            },
          },
        ],
      },
    ],
  };
}

const cluster = (connectTimeout: string): Msg => ({
  '@type': TYPE_URLS.cluster,
  name: 'up',
  type: 'EDS',
  connect_timeout: connectTimeout,
  eds_cluster_config: { eds_config: { ads: {} }, service_name: 'up' },
});

const endpoints = (addresses: string[]): Msg => ({
  '@type': TYPE_URLS.endpoint,
  cluster_name: 'up',
  endpoints: [
    {
      lb_endpoints: addresses.map((a) => {
        const [address, port] = a.split(':');
        return { endpoint: { address: { socket_address: { address, port_value: Number(port) } } } };
      }),
    },
  ],
});

const route: Msg = {
  '@type': TYPE_URLS.route,
  name: 'r',
  virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }],
};

describe('ProxyRuntime over xDS with access logs and tracing: one listener build per LDS update', () => {
  const ads = new ScriptedAds();
  let runtime: ProxyRuntime;
  let upstream: TestUpstream;
  let upstream2: TestUpstream;
  let zipkin: ZipkinCollector;
  let dir: TempDir;
  let accessLog: string;
  let builds = 0;
  const countingFilter: HttpFilterFactory<null, null> = {
    name: COUNT_FILTER,
    typeUrls: [COUNT_TYPE],
    parseConfig: () => {
      builds++;
      return null;
    },
    create: () => () => ({}),
  };
  const xds = () => {
    if (!runtime.xds) throw new Error('the runtime has no xDS client');
    return runtime.xds;
  };
  const lds = () => xds().stats.subscriptions.lds;
  const url = (path: string) => `http://${runtime.addresses['l']}${path}`;
  const logLines = () => {
    try {
      return readFileSync(accessLog, 'utf8');
    } catch {
      return '';
    }
  };
  /** A request through `l` that lands on `expected` and shows up in the access log and at Zipkin. */
  async function throughListener(path: string, expected: TestUpstream): Promise<void> {
    const seen = expected.requests.length;
    const res = await httpRequest(url(path), { agent: false, timeoutMs: 10_000 });
    expect(res.status).toBe(200);
    expect(expected.requests.length).toBe(seen + 1);
    const traceId = String(expected.requests[seen].headers['x-b3-traceid'] ?? '');
    expect(traceId).not.toBe('');
    await zipkin.waitForTrace(traceId, (spans) => spans.some((s) => s.kind === 'SERVER'));
    await waitFor(() => logLines().includes(`"GET ${path} HTTP/1.1" 200`), {
      timeoutMs: 15_000,
      what: `access log line for ${path}`,
    });
  }

  beforeAll(async () => {
    upstream = await startUpstream('up');
    upstream2 = await startUpstream('up2');
    zipkin = await startZipkinCollector();
    dir = tempDir('tsmesh-rewrite-');
    accessLog = join(dir.path, 'access.log');
    const bootstrap = parseBootstrap(`
node: {id: "sidecar~127.0.0.1~t.default~default.svc.cluster.local", cluster: t}
static_resources:
  clusters:
  - name: zipkin
    type: STATIC
    load_assignment: {cluster_name: zipkin, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${zipkin.port}}}}}]}]}
dynamic_resources:
  ads_config: {api_type: GRPC, grpc_services: [{google_grpc: {target_uri: "127.0.0.1:15010", stat_prefix: xds}}]}
  cds_config: {ads: {}}
  lds_config: {ads: {}}
tracing:
  http:
    name: envoy.tracers.zipkin
    typed_config: {"@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig, collector_cluster: zipkin, collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_JSON}
`);
    runtime = await ProxyRuntime.start({
      bootstrap,
      nodeType: 'sidecar',
      adminAddress: '',
      transport: ads,
      defaultAccessLog: { path: accessLog, encoding: 'TEXT' },
      registerFilters: (registry) => {
        registerBuiltinFilters(registry);
        registry.register(countingFilter);
      },
      drainMs: 100,
    });
    ads.push(TYPE_URLS.cluster, [cluster('1s')]);
    ads.push(TYPE_URLS.endpoint, [endpoints([upstream.address])]);
    ads.push(TYPE_URLS.listener, [listener('l')]);
    ads.push(TYPE_URLS.route, [route]);
    await xds().whenReady();
    await xds().settled();
  });

  afterAll(async () => {
    await runtime?.stop(100);
    await upstream?.close();
    await upstream2?.close();
    await zipkin?.close();
    dir?.cleanup();
  });

  it('builds the first LDS update once (the ACK check); it runs with tracing and the access log', async () => {
    expect(lds().updateRejected.value).toBe(0);
    expect(builds).toBe(1);
    await throughListener('/first', upstream);
    expect(builds).toBe(1);
  });

  it('builds nothing for a CDS update or an EDS update (the same listener object is applied again)', async () => {
    const before = builds;
    ads.push(TYPE_URLS.cluster, [cluster('2s')]);
    await xds().settled();
    ads.push(TYPE_URLS.endpoint, [endpoints([upstream2.address])]);
    await xds().settled();
    await waitFor(() => runtime.dataplane.cluster('up')?.hosts.some((h) => h.key === upstream2.address), {
      what: 'the EDS update applied',
    });
    await throughListener('/after-eds', upstream2);
    expect(builds - before).toBe(0);
  });

  it('builds a changed listener once', async () => {
    const before = builds;
    ads.push(TYPE_URLS.listener, [listener('l2')]);
    await xds().settled();
    expect(lds().updateRejected.value).toBe(0);
    await throughListener('/changed', upstream2);
    expect(builds - before).toBe(1);
  });

  it("NACKs an LDS update naming the user's listener and fields (indices as sent, not as rewritten)", async () => {
    const before = builds;
    ads.push(TYPE_URLS.listener, [
      listener('l3', [{ name: 'no.such.filter' }], {
        access_log: [{ name: 'envoy.access_loggers.nowhere' }],
      }),
    ]);
    await xds().settled();
    expect(lds().updateRejected.value).toBe(1);
    expect(xds().status().lds.lastError).toBe(
      [
        'listener "l": filter_chains[0].filters[0].typed_config.http_filters[1].name: unknown HTTP filter "no.such.filter"',
        'listeners[0].filter_chains[0].filters[0].typed_config.access_log[0].name: unsupported access logger envoy.access_loggers.nowhere',
      ].join('; '),
    );
    // Built once, by the check; the last good listener keeps serving.
    expect(builds - before).toBe(1);
    await throughListener('/after-nack', upstream2);
  });
});
