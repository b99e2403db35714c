import { FakeClock, SequenceRandom } from '@tsmesh/core';
import { TYPE_URLS, type Msg, type Snapshot } from '../engine/types';
import { StatsStore } from '../stats/store';
import type { AdsStreamHandlers, AdsTransport, DiscoveryRequest, DiscoveryResponse } from './types';
import { XdsClient } from './xds-client';

class FakeTransport implements AdsTransport {
  streams: Array<{ handlers: AdsStreamHandlers; requests: DiscoveryRequest[]; closed: boolean }> = [];
  open(handlers: AdsStreamHandlers) {
    const s = { handlers, requests: [] as DiscoveryRequest[], closed: false };
    this.streams.push(s);
    return { send: (r: DiscoveryRequest) => s.requests.push(r), close: () => (s.closed = true) };
  }
  closed = false;
  close() {
    this.closed = true;
  }
  get current() {
    return this.streams[this.streams.length - 1];
  }
  respond(res: DiscoveryResponse) {
    this.current.handlers.onResponse(res);
  }
  last(typeUrl: string): DiscoveryRequest | undefined {
    return [...this.current.requests].reverse().find((r) => r.type_url === typeUrl);
  }
}

class FakeSink {
  applied: Snapshot[] = [];
  validate(typeUrl: string, resources: Msg[]): string[] {
    return resources.filter((r) => String(r['name']).startsWith('bad')).map((r) => `${r['name']}: rejected by test`);
  }
  apply(s: Snapshot) {
    this.applied.push(s);
  }
  get live(): Snapshot | undefined {
    return this.applied[this.applied.length - 1];
  }
}

const names = (rs: Msg[] | undefined) => (rs ?? []).map((r) => r['name'] ?? r['cluster_name']);
const staticCluster = (name: string) => ({ '@type': TYPE_URLS.cluster, name, type: 'STATIC' });
const edsCluster = (name: string) => ({
  '@type': TYPE_URLS.cluster,
  name,
  type: 'EDS',
  eds_cluster_config: { eds_config: { ads: {} } },
});
const cla = (name: string) => ({ '@type': TYPE_URLS.endpoint, cluster_name: name, endpoints: [] });
const rdsListener = (name: string, route: string) => ({
  '@type': TYPE_URLS.listener,
  name,
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': TYPE_URLS.hcm,
            stat_prefix: name,
            rds: { route_config_name: route, config_source: { ads: {} } },
          },
        },
      ],
    },
  ],
});
const routeConfig = (name: string) => ({ '@type': TYPE_URLS.route, name, virtual_hosts: [] });

function setup() {
  const transport = new FakeTransport();
  const sink = new FakeSink();
  const clock = new FakeClock();
  const stats = new StatsStore();
  const client = new XdsClient({
    node: { id: 'sidecar~127.0.0.5~productpage-v1-abc.default~default.svc.cluster.local', cluster: 'productpage' },
    transport,
    sink,
    clock,
    random: new SequenceRandom([0.5]),
    stats,
    staticResources: { clusters: [staticCluster('xds-grpc')], endpoints: [], listeners: [], routes: [], secrets: [] },
  });
  client.start();
  return { transport, sink, clock, client, stats };
}

describe('XdsClient', () => {
  it('opens with wildcard CDS and LDS requests; the node is in the first request only', () => {
    const { transport } = setup();
    const [first, second] = transport.current.requests;
    expect(first).toMatchObject({
      type_url: TYPE_URLS.cluster,
      resource_names: [],
      version_info: '',
      response_nonce: '',
    });
    expect(first.node?.id).toBe('sidecar~127.0.0.5~productpage-v1-abc.default~default.svc.cluster.local');
    expect(second.type_url).toBe(TYPE_URLS.listener);
    expect(second.node).toBeUndefined();
  });

  it('ACKs with the response version and nonce, then subscribes to the EDS names', async () => {
    const { transport, client } = setup();
    transport.respond({
      type_url: TYPE_URLS.cluster,
      version_info: 'v1',
      nonce: 'n1',
      resources: [edsCluster('outbound|9080||reviews')],
    });
    const ack = transport.current.requests.find((r) => r.response_nonce === 'n1');
    expect(ack).toMatchObject({ type_url: TYPE_URLS.cluster, version_info: 'v1', response_nonce: 'n1' });
    expect(ack?.error_detail).toBeUndefined();
    expect(transport.last(TYPE_URLS.endpoint)?.resource_names).toEqual(['outbound|9080||reviews']);
    await client.settled();
    expect(client.status().cds.version).toBe('v1');
  });

  it('holds the first config until EDS and RDS complete it, then applies it whole and is ready', async () => {
    const { transport, sink, client } = setup();
    transport.respond({
      type_url: TYPE_URLS.cluster,
      version_info: 'c1',
      nonce: 'a',
      resources: [edsCluster('outbound|9080||reviews'), staticCluster('inbound|9080||')],
    });
    transport.respond({
      type_url: TYPE_URLS.listener,
      version_info: 'l1',
      nonce: 'b',
      resources: [rdsListener('0.0.0.0_9080', '9080')],
    });
    await client.settled();
    expect(sink.applied).toHaveLength(0);
    expect(client.isReady()).toBe(false);
    expect(transport.last(TYPE_URLS.route)?.resource_names).toEqual(['9080']);

    transport.respond({
      type_url: TYPE_URLS.endpoint,
      version_info: 'e1',
      nonce: 'c',
      resources: [cla('outbound|9080||reviews')],
    });
    await client.settled();
    expect(sink.applied).toHaveLength(0);
    expect(client.isReady()).toBe(false);

    transport.respond({ type_url: TYPE_URLS.route, version_info: 'r1', nonce: 'd', resources: [routeConfig('9080')] });
    await client.settled();
    expect(names(sink.live?.clusters)).toEqual(['xds-grpc', 'outbound|9080||reviews', 'inbound|9080||']);
    expect(names(sink.live?.listeners)).toEqual(['0.0.0.0_9080']);
    expect(names(sink.live?.routes)).toEqual(['9080']);
    expect(client.isReady()).toBe(true);
    await expect(client.whenReady()).resolves.toBeUndefined();
  });

  it('after the initial fetch timeout goes live without the endpoints that never came', async () => {
    const { transport, sink, client, clock, stats } = setup();
    transport.respond({
      type_url: TYPE_URLS.cluster,
      version_info: 'c1',
      nonce: 'a',
      resources: [edsCluster('never')],
    });
    transport.respond({ type_url: TYPE_URLS.listener, version_info: 'l1', nonce: 'b', resources: [] });
    await client.settled();
    expect(client.isReady()).toBe(false);
    clock.advance(15_000);
    await client.settled();
    expect(client.isReady()).toBe(true);
    expect(names(sink.live?.clusters)).toEqual(['xds-grpc', 'never']);
    expect(stats.value('cluster_manager.eds.init_fetch_timeout')).toBe(1);
  });

  it('stays not ready after the timeout while CDS/LDS never arrived', async () => {
    const { client, clock, sink } = setup();
    clock.advance(20_000);
    await client.settled();
    expect(client.isReady()).toBe(false);
    expect(sink.applied).toHaveLength(0);
  });

  it('keeps the previous version of a listener live while its new routes warm', async () => {
    const { transport, sink, client } = setup();
    transport.respond({ type_url: TYPE_URLS.cluster, version_info: 'c1', nonce: 'a', resources: [] });
    transport.respond({
      type_url: TYPE_URLS.listener,
      version_info: 'l1',
      nonce: 'b',
      resources: [rdsListener('0.0.0.0_80', 'r80')],
    });
    transport.respond({ type_url: TYPE_URLS.route, version_info: 'r1', nonce: 'c', resources: [routeConfig('r80')] });
    await client.settled();
    transport.respond({
      type_url: TYPE_URLS.listener,
      version_info: 'l2',
      nonce: 'd',
      resources: [rdsListener('0.0.0.0_80', 'r80-v2')],
    });
    await client.settled();
    const live = sink.live?.listeners[0];
    expect(live?.['filter_chains'][0].filters[0].typed_config.rds.route_config_name).toBe('r80');
    expect(client.listenerState().warming.map((w) => w.version)).toEqual(['l2']);
  });

  it('subscribes to SDS secrets named by TLS contexts (not the local default/ROOTCA) and warms listeners until they arrive', async () => {
    const { transport, sink, client } = setup();
    const tlsListener = {
      '@type': TYPE_URLS.listener,
      name: '0.0.0.0_443',
      filter_chains: [
        {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': TYPE_URLS.downstreamTls,
              common_tls_context: {
                tls_certificate_sds_secret_configs: [
                  { name: 'bookinfo-credential', sds_config: { ads: {} } },
                  { name: 'default', sds_config: { ads: {} } },
                ],
                validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {} } },
              },
            },
          },
          filters: [],
        },
      ],
    };
    transport.respond({ type_url: TYPE_URLS.cluster, version_info: 'c1', nonce: 'a', resources: [] });
    transport.respond({ type_url: TYPE_URLS.listener, version_info: 'l1', nonce: 'b', resources: [tlsListener] });
    expect(transport.last(TYPE_URLS.secret)?.resource_names).toEqual(['bookinfo-credential']);
    await client.settled();
    expect(client.isReady()).toBe(false);
    transport.respond({
      type_url: TYPE_URLS.secret,
      version_info: 's1',
      nonce: 'c',
      resources: [{ '@type': TYPE_URLS.secret, name: 'bookinfo-credential', tls_certificate: {} }],
    });
    await client.settled();
    expect(client.isReady()).toBe(true);
    expect(names(sink.live?.listeners)).toEqual(['0.0.0.0_443']);
    expect(names(sink.live?.secrets)).toEqual(['bookinfo-credential']);
  });

  it('NACKs an invalid response with error_detail and the last good version, and keeps serving the old config', async () => {
    const { transport, sink, client, stats } = setup();
    transport.respond({
      type_url: TYPE_URLS.cluster,
      version_info: 'v1',
      nonce: 'n1',
      resources: [staticCluster('good')],
    });
    transport.respond({ type_url: TYPE_URLS.listener, version_info: 'l1', nonce: 'm1', resources: [] });
    await client.settled();
    const appliedBefore = sink.applied.length;
    transport.respond({
      type_url: TYPE_URLS.cluster,
      version_info: 'v2',
      nonce: 'n2',
      resources: [staticCluster('bad-one')],
    });
    const nack = transport.last(TYPE_URLS.cluster);
    expect(nack).toMatchObject({ version_info: 'v1', response_nonce: 'n2', error_detail: { code: 3 } });
    expect(nack?.error_detail?.message).toContain('bad-one: rejected by test');
    await client.settled();
    expect(sink.applied.length).toBe(appliedBefore);
    expect(names(sink.live?.clusters)).toEqual(['xds-grpc', 'good']);
    expect(stats.value('cluster_manager.cds.update_rejected')).toBe(1);
    expect(client.status().cds.lastError).toContain('bad-one');
  });

  it('treats CDS as state of the world: a cluster missing from a response is removed, and its EDS name dropped', async () => {
    const { transport, sink, client } = setup();
    transport.respond({
      type_url: TYPE_URLS.cluster,
      version_info: 'c1',
      nonce: 'a',
      resources: [edsCluster('x'), edsCluster('y')],
    });
    transport.respond({
      type_url: TYPE_URLS.endpoint,
      version_info: 'e1',
      nonce: 'b',
      resources: [cla('x'), cla('y')],
    });
    transport.respond({ type_url: TYPE_URLS.listener, version_info: 'l1', nonce: 'c', resources: [] });
    await client.settled();
    expect(names(sink.live?.clusters)).toEqual(['xds-grpc', 'x', 'y']);
    transport.respond({ type_url: TYPE_URLS.cluster, version_info: 'c2', nonce: 'd', resources: [edsCluster('x')] });
    await client.settled();
    expect(names(sink.live?.clusters)).toEqual(['xds-grpc', 'x']);
    expect(names(sink.live?.endpoints)).toEqual(['x']);
    expect(transport.last(TYPE_URLS.endpoint)?.resource_names).toEqual(['x']);
  });

  it('subscribes to the routes and endpoints static bootstrap resources load over ADS', async () => {
    const transport = new FakeTransport();
    const sink = new FakeSink();
    const client = new XdsClient({
      node: { id: 'sidecar~1.1.1.1~a.b~b.svc.cluster.local', cluster: 'a' },
      transport,
      sink,
      clock: new FakeClock(),
      staticResources: {
        clusters: [edsCluster('static-eds')],
        endpoints: [],
        listeners: [rdsListener('static', 'static-route')],
        routes: [],
        secrets: [],
      },
    });
    client.start();
    expect(transport.last(TYPE_URLS.endpoint)?.resource_names).toEqual(['static-eds']);
    expect(transport.last(TYPE_URLS.route)?.resource_names).toEqual(['static-route']);
    transport.respond({ type_url: TYPE_URLS.cluster, version_info: 'c', nonce: 'a', resources: [] });
    transport.respond({ type_url: TYPE_URLS.listener, version_info: 'l', nonce: 'b', resources: [] });
    expect(transport.last(TYPE_URLS.route)?.resource_names).toEqual(['static-route']);
    await client.settled();
    expect(client.isReady()).toBe(false);
    transport.respond({ type_url: TYPE_URLS.endpoint, version_info: 'e', nonce: 'c', resources: [cla('static-eds')] });
    transport.respond({
      type_url: TYPE_URLS.route,
      version_info: 'r',
      nonce: 'd',
      resources: [routeConfig('static-route')],
    });
    await client.settled();
    expect(client.isReady()).toBe(true);
    expect(names(sink.live?.routes)).toEqual(['static-route']);
    await client.stop();
  });

  it('NACKs duplicate resource names and type mismatches', () => {
    const { transport } = setup();
    transport.respond({
      type_url: TYPE_URLS.cluster,
      version_info: 'v1',
      nonce: 'n1',
      resources: [staticCluster('a'), staticCluster('a')],
    });
    expect(transport.last(TYPE_URLS.cluster)?.error_detail?.message).toContain('duplicate resource name a');
    transport.respond({
      type_url: TYPE_URLS.listener,
      version_info: 'v1',
      nonce: 'n2',
      resources: [staticCluster('x')],
    });
    expect(transport.last(TYPE_URLS.listener)?.error_detail?.message).toContain('does not match');
  });

  it('keeps the last good config while the control plane is gone and resumes with the last versions on reconnect', async () => {
    const { transport, sink, client, clock, stats } = setup();
    transport.respond({ type_url: TYPE_URLS.cluster, version_info: 'v1', nonce: 'n1', resources: [edsCluster('c')] });
    transport.respond({ type_url: TYPE_URLS.endpoint, version_info: 'e1', nonce: 'n2', resources: [cla('c')] });
    transport.respond({ type_url: TYPE_URLS.listener, version_info: 'l1', nonce: 'n3', resources: [] });
    await client.settled();
    expect(client.isReady()).toBe(true);
    const applied = sink.applied.length;
    transport.current.handlers.onClose('UNAVAILABLE');
    expect(client.isConnected()).toBe(false);
    expect(stats.value('control_plane.connected_state')).toBe(0);
    expect(sink.applied.length).toBe(applied);
    expect(transport.streams).toHaveLength(1);
    // SequenceRandom(0.5) → first retry after 0.5 × 500 ms.
    clock.advance(249);
    expect(transport.streams).toHaveLength(1);
    clock.advance(1);
    expect(transport.streams).toHaveLength(2);
    const reqs = transport.current.requests;
    expect(reqs[0]).toMatchObject({ type_url: TYPE_URLS.cluster, version_info: 'v1', response_nonce: '' });
    expect(reqs[0].node).toBeDefined();
    expect(reqs.find((r) => r.type_url === TYPE_URLS.endpoint)).toMatchObject({
      version_info: 'e1',
      resource_names: ['c'],
    });
    expect(names(sink.live?.clusters)).toEqual(['xds-grpc', 'c']);
  });

  it('backs off exponentially while the control plane stays down', () => {
    const { transport, clock } = setup();
    transport.current.handlers.onClose('down');
    clock.advance(250);
    transport.current.handlers.onClose('down');
    clock.advance(499);
    expect(transport.streams).toHaveLength(2);
    clock.advance(1);
    expect(transport.streams).toHaveLength(3);
  });

  it('ignores events from a stream it already abandoned', async () => {
    const { transport, client, clock } = setup();
    const old = transport.current;
    old.handlers.onClose('x');
    clock.advance(1000);
    old.handlers.onResponse({ type_url: TYPE_URLS.cluster, version_info: 'zz', nonce: 'q', resources: [] });
    await client.settled();
    expect(client.status().cds.version).toBe('');
    await client.stop();
  });
});
