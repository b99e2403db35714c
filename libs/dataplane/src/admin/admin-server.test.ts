import http from 'node:http';
import { TYPE_URLS } from '../engine/types';
import { StatsStore } from '../stats/store';
import { adminHandler, healthHandler, listenHttp, prometheusHandler, type BoundServer } from './admin-server';
import { buildConfigDump, DUMP_TYPES } from './config-dump';
import type { AdminBackend, ServerState } from './types';

function get(url: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

class FakeBackend implements AdminBackend {
  stats = new StatsStore();
  current: ServerState = 'INITIALIZING';
  healthFailed = false;
  quits = 0;
  drains: Array<{ graceful: boolean; inboundOnly: boolean }> = [];
  level = 'info';
  state(): ServerState {
    return this.healthFailed ? 'DRAINING' : this.current;
  }
  configDump(o: { includeEds: boolean }) {
    return buildConfigDump({
      bootstrap: { node: { id: 'sidecar~1.2.3.4~a.b~b.svc.cluster.local' } },
      staticResources: {
        clusters: [{ name: 'xds-grpc', type: 'STATIC' }],
        endpoints: [],
        listeners: [{ name: 'l1' }],
        routes: [],
        secrets: [{ name: 's', tls_certificate: { private_key: { inline_string: 'SECRET' } } }],
      },
      loadedAt: 0,
      includeEds: o.includeEds,
      dynamic: {
        clusterState: () => ({
          active: [
            {
              name: 'outbound|9080||reviews',
              resource: { name: 'outbound|9080||reviews' },
              version: 'v7',
              lastUpdated: 1000,
            },
          ],
          warming: [],
        }),
        listenerState: () => ({
          active: [],
          warming: [{ name: 'w', resource: { name: 'w' }, version: 'v8', lastUpdated: 2000 }],
        }),
        routeState: () => [{ name: '9080', resource: { name: '9080' }, version: 'v9', lastUpdated: 3000 }],
        endpointState: () => [],
        status: () => ({ cds: { version: 'v7' }, lds: { version: 'v8' } }),
      },
    });
  }
  clusters() {
    return [
      {
        name: 'outbound|9080||reviews',
        addedViaApi: true,
        hosts: [{ address: '127.0.0.1:9080', stats: { cx_active: 2, rq_total: 5 }, health: 'healthy', weight: 1 }],
      },
    ];
  }
  listeners() {
    return [{ name: '0.0.0.0_9080', address: '127.0.0.1:40001' }];
  }
  serverInfo() {
    return { version: 'tsmesh', state: this.state() };
  }
  setHealthCheckFailed(f: boolean) {
    this.healthFailed = f;
  }
  drainListeners(o: { graceful: boolean; inboundOnly: boolean }) {
    this.drains.push(o);
  }
  quit() {
    this.quits++;
  }
  logLevel() {
    return this.level;
  }
  setLogLevel(l: string) {
    this.level = l;
  }
}

describe('admin API', () => {
  const backend = new FakeBackend();
  let admin: BoundServer;
  let prom: BoundServer;
  let health: BoundServer;
  let base = '';

  beforeAll(async () => {
    backend.stats
      .counter('cluster.outbound|9080||reviews.upstream_rq_total', {
        base: 'cluster.upstream_rq_total',
        labels: { cluster_name: 'outbound|9080||reviews' },
      })
      .inc(3);
    backend.stats.gauge('server.live').set(1);
    backend.stats.histogram('cluster.x.upstream_rq_time').record(4);
    admin = await listenHttp('127.0.0.1:0', adminHandler(backend));
    prom = await listenHttp('127.0.0.1:0', prometheusHandler(backend));
    health = await listenHttp('127.0.0.1:0', healthHandler(backend));
    base = `http://${admin.address}`;
  });
  afterAll(async () => {
    await Promise.all([admin.close(), prom.close(), health.close()]);
  });

  it('/ready and /healthz/ready are 503 until LIVE, and DRAINING after /healthcheck/fail', async () => {
    expect(await get(`${base}/ready`)).toMatchObject({ status: 503, body: 'INITIALIZING\n' });
    expect((await get(`http://${health.address}/healthz/ready`)).status).toBe(503);
    backend.current = 'LIVE';
    expect(await get(`${base}/ready`)).toMatchObject({ status: 200, body: 'LIVE\n' });
    expect((await get(`http://${health.address}/healthz/ready`)).status).toBe(200);
    expect((await get(`${base}/healthcheck/fail`)).status).toBe(405);
    expect((await get(`${base}/healthcheck/fail`, 'POST')).status).toBe(200);
    expect(await get(`${base}/ready`)).toMatchObject({ status: 503, body: 'DRAINING\n' });
    await get(`${base}/healthcheck/ok`, 'POST');
    expect((await get(`${base}/ready`)).status).toBe(200);
  });

  it('/stats prints Envoy text lines, filters by regex and has a JSON form', async () => {
    const text = (await get(`${base}/stats`)).body;
    expect(text).toContain('cluster.outbound|9080||reviews.upstream_rq_total: 3\n');
    expect(text).toContain('server.live: 1\n');
    const filtered = (await get(`${base}/stats?filter=${encodeURIComponent('^server\\.')}`)).body;
    expect(filtered).toBe('server.live: 1\n');
    const json = JSON.parse((await get(`${base}/stats?format=json`)).body);
    expect(json.stats).toContainEqual({ name: 'server.live', value: 1 });
    expect(json.stats[json.stats.length - 1].histograms.supported_quantiles).toContain(99);
    expect((await get(`${base}/stats?filter=(`)).status).toBe(400);
  });

  it('/stats/prometheus (admin and :15090) is valid Prometheus text with Envoy names and tags', async () => {
    for (const url of [`${base}/stats/prometheus`, `http://${prom.address}/stats/prometheus`]) {
      const { status, body } = await get(url);
      expect(status).toBe(200);
      expect(body).toContain('envoy_cluster_upstream_rq_total{cluster_name="outbound|9080||reviews"} 3');
      for (const line of body.split('\n').filter(Boolean)) {
        expect(line).toMatch(
          /^(# TYPE [a-zA-Z_:][\w:]* (counter|gauge|histogram)|[a-zA-Z_:][\w:]*(\{([a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? -?[\d.e+-]+|.* (NaN|\+Inf))$/,
        );
      }
    }
    expect((await get(`http://${prom.address}/other`)).status).toBe(404);
  });

  it('/clusters prints host lines in Envoy text and JSON forms', async () => {
    const text = (await get(`${base}/clusters`)).body;
    expect(text).toContain('outbound|9080||reviews::127.0.0.1:9080::cx_active::2\n');
    expect(text).toContain('outbound|9080||reviews::127.0.0.1:9080::health_flags::healthy\n');
    expect(text).toContain('outbound|9080||reviews::added_via_api::true\n');
    const json = JSON.parse((await get(`${base}/clusters?format=json`)).body);
    expect(json.cluster_statuses[0].host_statuses[0].address.socket_address).toEqual({
      address: '127.0.0.1',
      port_value: 9080,
    });
  });

  it('/listeners prints name::address', async () => {
    expect((await get(`${base}/listeners`)).body).toBe('0.0.0.0_9080::127.0.0.1:40001\n');
    const json = JSON.parse((await get(`${base}/listeners?format=json`)).body);
    expect(json.listener_statuses[0].local_address.socket_address.port_value).toBe(40001);
  });

  it('/config_dump has Envoy ConfigDump shape with versions and redacted keys', async () => {
    const dump = JSON.parse((await get(`${base}/config_dump`)).body);
    const types = dump.configs.map((c: { '@type': string }) => c['@type']);
    expect(types).toEqual([
      DUMP_TYPES.bootstrap,
      DUMP_TYPES.clusters,
      DUMP_TYPES.listeners,
      DUMP_TYPES.routes,
      DUMP_TYPES.secrets,
    ]);
    const clusters = dump.configs[1];
    expect(clusters.version_info).toBe('v7');
    expect(clusters.static_clusters[0].cluster['@type']).toBe(TYPE_URLS.cluster);
    expect(clusters.dynamic_active_clusters[0]).toMatchObject({
      version_info: 'v7',
      cluster: { name: 'outbound|9080||reviews' },
    });
    expect(dump.configs[2].dynamic_listeners[0]).toMatchObject({ name: 'w', warming_state: { version_info: 'v8' } });
    expect(dump.configs[3].dynamic_route_configs[0].route_config['@type']).toBe(TYPE_URLS.route);
    expect(JSON.stringify(dump)).not.toContain('SECRET');
    const withEds = JSON.parse((await get(`${base}/config_dump?include_eds`)).body);
    expect(withEds.configs.map((c: { '@type': string }) => c['@type'])).toContain(DUMP_TYPES.endpoints);
  });

  it('/logging changes levels only by POST; /drain_listeners, /quitquitquit reach the backend', async () => {
    expect((await get(`${base}/logging?level=debug`)).status).toBe(405);
    expect((await get(`${base}/logging?level=debug`, 'POST')).body).toContain('  http: debug');
    expect((await get(`${base}/logging?level=loud`, 'POST')).status).toBe(400);
    await get(`${base}/drain_listeners?graceful&inboundonly`, 'POST');
    expect(backend.drains).toEqual([{ graceful: true, inboundOnly: true }]);
    expect((await get(`${base}/quitquitquit`, 'POST')).body).toBe('OK\n');
    expect(backend.quits).toBe(1);
  });

  it("/logging speaks Envoy's level names both ways and sets the logger's own names", async () => {
    const loggers = ['admin', 'config', 'connection', 'http', 'main', 'router', 'upstream', 'tracing'];
    const listing = (level: string) => `active loggers:\n${loggers.map((l) => `  ${l}: ${level}\n`).join('')}`;
    const names: [envoy: string, own: string][] = [
      ['trace', 'trace'],
      ['debug', 'debug'],
      ['info', 'info'],
      ['warning', 'warn'],
      ['error', 'error'],
      ['critical', 'fatal'],
      ['off', 'silent'],
    ];
    for (const [envoy, own] of names) {
      const set = await get(`${base}/logging?level=${envoy}`, 'POST');
      expect(set).toMatchObject({ status: 200, body: listing(envoy) });
      expect(backend.level).toBe(own);
      expect((await get(`${base}/logging`)).body).toBe(listing(envoy));
    }
    // The logger's own names are not Envoy's: refused, level unchanged.
    for (const own of ['warn', 'fatal', 'silent']) {
      const refused = await get(`${base}/logging?level=${own}`, 'POST');
      expect(refused.status).toBe(400);
      expect(refused.body).toContain('trace, debug, info, warning, error, critical, off');
    }
    expect(backend.level).toBe('silent');
    await get(`${base}/logging?level=info`, 'POST');
  });

  it('/help lists endpoints; unknown paths are 404; /server_info is JSON', async () => {
    expect((await get(`${base}/help`)).body).toContain('/config_dump');
    expect((await get(`${base}/nope`)).status).toBe(404);
    expect(JSON.parse((await get(`${base}/server_info`)).body).version).toBe('tsmesh');
  });
});
