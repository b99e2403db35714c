/**
 * What a config push leaves in the admin `/stats` and `/stats/prometheus` output, with the engine
 * fed by the real xDS client over a scripted ADS stream and the real admin server reading the
 * engine's stats. Envoy shows no stats for a listener it rejected: a NACKed LDS update, a static
 * snapshot refused for a config error and one refused because a listener cannot bind leave no new
 * stat behind, and the last good config keeps serving. An accepted LDS update is built once (by
 * the ACK/NACK check) and its stats are listed from its application on.
 */
import net from 'node:net';
import { httpRequest } from '@tsmesh/testing';
import { adminHandler, listenHttp, type BoundServer } from '../admin/admin-server';
import type { AdminBackend } from '../admin/types';
import type { HttpFilterFactory } from '../filters/types';
import { XdsClient } from '../xds-client/xds-client';
import type { AdsStreamHandlers, AdsTransport } from '../xds-client/types';
import type { Dataplane } from './dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from './testing';
import { TYPE_URLS, type Msg } from './types';

const COUNT_FILTER = 'tsmesh.test.listener_build_count';
const COUNT_TYPE = 'type.googleapis.com/tsmesh.test.ListenerBuildCount';

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
  respond(typeUrl: string, version: string, resources: Msg[]) {
    this.handlers?.onResponse({ type_url: typeUrl, version_info: version, nonce: version, resources });
  }
}

/** HTTP listener `name` on `port` with HCM stat prefix `prefix`, the counting filter and RDS `r`. */
function listener(name: string, prefix: string, port = 0, extraFilters: string[] = []): Msg {
  const l = yamlSnapshot({ listeners: [httpListenerYaml(name, 'r', extraFilters)] }).listeners[0];
  const hcm = l['filter_chains'][0]['filters'][0]['typed_config'] as Msg;
  hcm['stat_prefix'] = prefix;
  hcm['http_filters'] = [{ name: COUNT_FILTER, typed_config: { '@type': COUNT_TYPE } }, ...hcm['http_filters']];
  l['address']['socket_address']['port_value'] = port;
  return { '@type': TYPE_URLS.listener, ...l };
}

describe('stats of refused and accepted pushes in the admin output', () => {
  let upstream: TestUpstream;
  let dp: Dataplane;
  let xds: XdsClient;
  let admin: BoundServer;
  let version = 0;
  let builds = 0;
  const ads = new ScriptedAds();

  const countingFilter: HttpFilterFactory<null, null> = {
    name: COUNT_FILTER,
    typeUrls: [COUNT_TYPE],
    parseConfig: () => {
      builds++;
      return null;
    },
    create: () => () => ({}),
  };

  const push = async (typeUrl: string, resources: Msg[]) => {
    ads.respond(typeUrl, `v${++version}`, resources);
    await xds.settled();
  };
  const adminGet = async (path: string) => {
    const res = await httpRequest(`http://${admin.address}${path}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  /** Stat names in `/stats` (`name: value` lines). */
  const statNames = async () =>
    (await adminGet('/stats'))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(0, line.indexOf(':')));
  /** `/stats` and `/stats/prometheus` lines mentioning `word`. */
  const mentions = async (word: string) =>
    [...(await adminGet('/stats')).split('\n'), ...(await adminGet('/stats/prometheus')).split('\n')].filter((l) =>
      l.includes(word),
    );
  const getThrough = async (listenerName: string) => {
    const res = await httpRequest(`http://${dp.address(listenerName)}/`, { headers: { host: 'svc' } });
    return `${res.status} ${res.body}`;
  };

  beforeAll(async () => {
    upstream = await startUpstream('v1');
    dp = testEngine();
    dp.filters.register(countingFilter);
    const backend: AdminBackend = {
      stats: dp.stats,
      state: () => 'LIVE',
      configDump: () => dp.configDump() as { configs: Msg[] },
      clusters: () => [],
      listeners: () => dp.listeners(),
      serverInfo: () => ({}),
      setHealthCheckFailed: () => undefined,
      drainListeners: () => undefined,
      quit: () => undefined,
      logLevel: () => 'info',
      setLogLevel: () => undefined,
    };
    admin = await listenHttp('127.0.0.1:0', adminHandler(backend));
    xds = new XdsClient({
      node: { id: dp.nodeId, cluster: 'test' },
      transport: ads,
      sink: { validate: (t, rs) => dp.validate(t, rs), apply: (s) => dp.apply(s) },
    });
    xds.start();
    const snap = yamlSnapshot({
      clusters: [staticClusterYaml('v1', [upstream.address])],
      routes: [
        `
name: r
virtual_hosts:
- name: svc
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: v1}
`,
      ],
    });
    await push(
      TYPE_URLS.cluster,
      snap.clusters.map((c) => ({ '@type': TYPE_URLS.cluster, ...c })),
    );
    await push(TYPE_URLS.listener, [listener('l', 'l')]);
    await push(
      TYPE_URLS.route,
      snap.routes.map((r) => ({ '@type': TYPE_URLS.route, ...r })),
    );
    await xds.whenReady();
  });

  afterAll(async () => {
    await xds?.stop();
    await dp?.stop();
    await admin?.close();
    await upstream?.close();
  });

  it('built the first LDS update once, for the ACK check and the application together', async () => {
    expect(builds).toBe(1);
    expect(await getThrough('l')).toBe('200 v1');
    expect(await statNames()).toContain('http.l.downstream_rq_total');
  });

  it('a NACKed LDS update leaves none of its stats in /stats or /stats/prometheus; the old listener keeps serving', async () => {
    const served = dp.stats.value('http.l.downstream_rq_total');
    const before = builds;
    await push(TYPE_URLS.listener, [
      listener('l', 'l_refused'),
      listener('l2', 'l2_refused', 0, ['- name: no.such.filter']),
    ]);
    expect(xds.stats.subscriptions.lds.updateRejected.value).toBe(1);
    expect(xds.status().lds.lastError).toContain('unknown HTTP filter "no.such.filter"');
    expect(builds - before).toBe(2);
    expect(await mentions('l_refused')).toEqual([]);
    expect(await mentions('l2_refused')).toEqual([]);
    expect(await getThrough('l')).toBe('200 v1');
    expect(dp.listeners().map((l) => l.name)).toEqual(['l']);
    expect(await adminGet('/stats')).toContain(`http.l.downstream_rq_total: ${served + 1}`);
  });

  it('a static snapshot refused for a config error leaves none of its stats', async () => {
    const current = dp.current();
    const bad = {
      ...current,
      listeners: [listener('l', 'static_refused')],
      clusters: [...current.clusters, current.clusters[0]],
    };
    await expect(dp.apply(bad)).rejects.toMatchObject({ code: 'DATAPLANE_ERR_INVALID_CONFIG' });
    expect(await mentions('static_refused')).toEqual([]);
    expect(await getThrough('l')).toBe('200 v1');
  });

  it('a snapshot refused because a listener cannot bind leaves neither its listeners’ nor its new clusters’ stats', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const current = dp.current();
      const extra = yamlSnapshot({ clusters: [staticClusterYaml('c_bind_refused', [upstream.address])] });
      const next = {
        ...current,
        listeners: [...current.listeners, listener('taken', 'bind_refused', port)],
        clusters: [...current.clusters, ...extra.clusters],
      };
      await expect(dp.apply(next)).rejects.toMatchObject({ code: 'DATAPLANE_ERR_LISTENER_BIND' });
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
    expect(await mentions('bind_refused')).toEqual([]);
    expect(await getThrough('l')).toBe('200 v1');
  });

  it('an accepted LDS update is built once; its stats are listed from its application on and count its requests', async () => {
    const before = builds;
    const names = await statNames();
    await push(TYPE_URLS.listener, [listener('l', 'l_next')]);
    expect(xds.stats.subscriptions.lds.updateSuccess.value).toBe(2);
    expect(builds - before).toBe(1);
    const added = (await statNames()).filter((n) => !names.includes(n));
    // The new connection manager's stats, under Envoy's names (as the first listener's were).
    const hcmStats = (prefix: string) =>
      names.filter((n) => n.startsWith(`http.${prefix}.`)).map((n) => n.slice(`http.${prefix}.`.length));
    expect(added.filter((n) => n.startsWith('http.l_next.')).map((n) => n.slice('http.l_next.'.length))).toEqual(
      hcmStats('l'),
    );
    expect(await getThrough('l')).toBe('200 v1');
    expect(await adminGet('/stats')).toContain('http.l_next.downstream_rq_total: 1');
    expect(await adminGet('/stats/prometheus')).toMatch(
      /envoy_http_downstream_rq_total\{http_conn_manager_prefix="l_next"\} 1/,
    );
  });
});
