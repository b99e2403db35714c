/**
 * Over xDS, a RouteConfiguration is compiled once per update: by the ACK/NACK check
 * (`ProxyRuntime.validate` → `Dataplane.validate`), whose result the application that follows
 * installs. A counting HTTP filter named in the route table's `typed_per_filter_config` counts
 * the compilations (`parsePerRoute` runs once per compilation of the table).
 */
import http from 'node:http';
import { registerBuiltinFilters } from '../filters/builtin';
import type { HttpFilterFactory } from '../filters/types';
import { TYPE_URLS, type Msg } from '../engine/types';
import type { AdsStreamHandlers, AdsTransport, DiscoveryResponse } from '../xds-client/types';
import { parseBootstrap } from './load';
import { ProxyRuntime } from './proxy-runtime';

const COUNT_FILTER = 'tsmesh.test.route_compile_count';
const COUNT_TYPE = 'type.googleapis.com/tsmesh.test.RouteCompileCount';

/** One ADS stream whose responses the test writes. */
class ScriptedAds implements AdsTransport {
  private handlers?: AdsStreamHandlers;
  open(handlers: AdsStreamHandlers) {
    this.handlers = handlers;
    return { send: () => undefined, close: () => undefined };
  }
  close() {
    this.handlers = undefined;
  }
  respond(res: DiscoveryResponse) {
    this.handlers?.onResponse(res);
  }
}

const listener: Msg = {
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
            stat_prefix: 'l',
            rds: { route_config_name: 'r', config_source: { ads: {} } },
            http_filters: [
              {
                name: 'envoy.filters.http.router',
                typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
              },
            ],
          },
        },
      ],
    },
  ],
};

/** Route table `r`: one `safe_regex` route answering `body` directly. */
const routeConfig = (regex: string, body: string): Msg => ({
  '@type': TYPE_URLS.route,
  name: 'r',
  virtual_hosts: [
    {
      name: 'v',
      domains: ['*'],
      typed_per_filter_config: { [COUNT_FILTER]: { '@type': COUNT_TYPE } },
      routes: [{ match: { safe_regex: { regex } }, direct_response: { status: 200, body: { inline_string: body } } }],
    },
  ],
});

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('ProxyRuntime over xDS', () => {
  const ads = new ScriptedAds();
  let runtime: ProxyRuntime;
  let routeCompiles = 0;
  let version = 0;
  const countingFilter: HttpFilterFactory<null, null> = {
    name: COUNT_FILTER,
    typeUrls: [COUNT_TYPE],
    parseConfig: () => null,
    parsePerRoute: () => {
      routeCompiles++;
      return null;
    },
    create: () => () => ({}),
  };
  const push = (typeUrl: string, resources: Msg[]) => {
    version++;
    ads.respond({ type_url: typeUrl, version_info: `v${version}`, nonce: `n${version}`, resources });
  };
  const rdsStatus = () => runtime.xds?.stats.subscriptions.rds;

  beforeAll(async () => {
    const bootstrap = parseBootstrap(`
node: {id: "sidecar~127.0.0.1~t.default~default.svc.cluster.local", cluster: t}
dynamic_resources:
  ads_config: {api_type: GRPC, grpc_services: [{google_grpc: {target_uri: "127.0.0.1:15010", stat_prefix: xds}}]}
  cds_config: {ads: {}}
  lds_config: {ads: {}}
`);
    runtime = await ProxyRuntime.start({
      bootstrap,
      nodeType: 'sidecar',
      adminAddress: '',
      transport: ads,
      registerFilters: (registry) => {
        registerBuiltinFilters(registry);
        registry.register(countingFilter);
      },
      drainMs: 100,
    });
    push(TYPE_URLS.cluster, []);
    push(TYPE_URLS.listener, [listener]);
    push(TYPE_URLS.route, [routeConfig('/a', 'first')]);
    await runtime.xds?.whenReady();
  });

  afterAll(async () => {
    await runtime?.stop(100);
  });

  it('compiled the first route table once, for the ACK check and the application together', async () => {
    expect(routeCompiles).toBe(1);
    expect(await get(`http://${runtime.addresses['l']}/a`)).toBe('first');
  });

  it('compiles an RDS update once; the application serves that compilation', async () => {
    const before = routeCompiles;
    push(TYPE_URLS.route, [routeConfig('/b', 'second')]);
    await runtime.xds?.settled();
    expect(routeCompiles - before).toBe(1);
    expect(rdsStatus()?.updateRejected.value).toBe(0);
    expect(await get(`http://${runtime.addresses['l']}/b`)).toBe('second');
  });

  it('NACKs an RDS update with an error after compiling it once; the last good table keeps serving', async () => {
    const before = routeCompiles;
    push(TYPE_URLS.route, [routeConfig('(', 'broken')]);
    await runtime.xds?.settled();
    expect(routeCompiles - before).toBe(1);
    expect(rdsStatus()?.updateRejected.value).toBe(1);
    expect(await get(`http://${runtime.addresses['l']}/b`)).toBe('second');
  });
});
