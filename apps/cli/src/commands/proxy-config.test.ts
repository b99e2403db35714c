import { clustersTable, endpointsTable, listenersTable, parseClusterName, routesTable } from './proxy-config';

const C = 'type.googleapis.com/envoy.admin.v3.';
const hcm = { name: 'envoy.filters.network.http_connection_manager', typed_config: {} };
const dump = {
  configs: [
    { '@type': `${C}BootstrapConfigDump`, bootstrap: {} },
    {
      '@type': `${C}ClustersConfigDump`,
      static_clusters: [{ cluster: { name: 'xds-grpc', type: 'STRICT_DNS' } }],
      dynamic_active_clusters: [
        { version_info: '3', cluster: { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', type: 'EDS' } },
        { version_info: '3', cluster: { name: 'inbound|9080||reviews.default.svc.cluster.local' } },
        { version_info: '3', cluster: { name: 'PassthroughCluster', type: 4 } },
      ],
    },
    {
      '@type': `${C}ListenersConfigDump`,
      dynamic_listeners: [
        {
          name: '0.0.0.0_9080',
          active_state: {
            listener: {
              name: '0.0.0.0_9080',
              address: { socket_address: { address: '0.0.0.0', port_value: 9080 } },
              filter_chains: [{ filters: [hcm] }],
            },
          },
        },
        {
          name: '10.96.0.9_3306',
          active_state: {
            listener: {
              address: { socket_address: { address: '10.96.0.9', port_value: 3306 } },
              filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy' }] }],
            },
          },
        },
        { name: 'warming-only', warming_state: { listener: { name: 'warming-only' } } },
      ],
    },
    {
      '@type': `${C}RoutesConfigDump`,
      dynamic_route_configs: [{ route_config: { name: '9080', virtual_hosts: [{ name: 'a' }, { name: 'b' }] } }],
    },
  ],
};
const cols = (line: string) => line.split(/\s{2,}/);

describe('proxy-config tables', () => {
  it('parses Istio cluster names', () => {
    expect(parseClusterName('outbound|9080|v1|reviews.default.svc.cluster.local')).toEqual({
      direction: 'outbound',
      port: '9080',
      subset: 'v1',
      fqdn: 'reviews.default.svc.cluster.local',
    });
    expect(parseClusterName('BlackHoleCluster').port).toBe('-');
  });

  it('clusters: SERVICE FQDN, PORT, SUBSET, DIRECTION, TYPE (absent type = STATIC, numbers as names)', () => {
    const lines = clustersTable(dump);
    expect(cols(lines[0])).toEqual(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE']);
    expect(lines.slice(1).map(cols)).toEqual([
      ['xds-grpc', '-', '-', '-', 'STRICT_DNS'],
      ['reviews.default.svc.cluster.local', '9080', 'v1', 'outbound', 'EDS'],
      ['reviews.default.svc.cluster.local', '9080', '-', 'inbound', 'STATIC'],
      ['PassthroughCluster', '-', '-', '-', 'ORIGINAL_DST'],
    ]);
  });

  it('listeners: active ones only, HTTP when a chain has the connection manager', () => {
    expect(listenersTable(dump).map(cols)).toEqual([
      ['ADDRESS', 'PORT', 'TYPE'],
      ['0.0.0.0', '9080', 'HTTP'],
      ['10.96.0.9', '3306', 'TCP'],
    ]);
  });

  it('routes: name and virtual host count', () => {
    expect(routesTable(dump).map(cols)).toEqual([
      ['NAME', 'VIRTUAL HOSTS'],
      ['9080', '2'],
    ]);
  });

  it('endpoints: one row per host with health from /clusters?format=json', () => {
    const host = (address: string, port_value: number, health_status: object) => ({
      address: { socket_address: { address, port_value } },
      health_status,
    });
    const lines = endpointsTable({
      cluster_statuses: [
        {
          name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
          host_statuses: [
            host('10.0.0.1', 9080, { eds_health_status: 'HEALTHY' }),
            host('10.0.0.2', 9080, { eds_health_status: 'HEALTHY', failed_outlier_check: true }),
            host('10.0.0.3', 9080, { eds_health_status: 'UNHEALTHY' }),
          ],
        },
      ],
    });
    expect(lines.map(cols)).toEqual([
      ['ENDPOINT', 'STATUS', 'CLUSTER'],
      ['10.0.0.1:9080', 'HEALTHY', 'outbound|9080|v1|reviews.default.svc.cluster.local'],
      ['10.0.0.2:9080', 'OUTLIER-EJECTED', 'outbound|9080|v1|reviews.default.svc.cluster.local'],
      ['10.0.0.3:9080', 'UNHEALTHY', 'outbound|9080|v1|reviews.default.svc.cluster.local'],
    ]);
  });
});

describe('proxy-config filters (istioctl --fqdn/--port/--subset/--direction, --cluster/--status)', () => {
  it('clusters by fqdn substring, port, subset and direction', () => {
    expect(clustersTable(dump, { fqdn: 'reviews', direction: 'inbound' }).slice(1).map(cols)).toEqual([
      ['reviews.default.svc.cluster.local', '9080', '-', 'inbound', 'STATIC'],
    ]);
    expect(clustersTable(dump, { port: '9080', subset: 'v1' }).slice(1).map(cols)).toEqual([
      ['reviews.default.svc.cluster.local', '9080', 'v1', 'outbound', 'EDS'],
    ]);
  });

  it('endpoints by cluster and status', () => {
    const host = (address: string, eds_health_status: string) => ({
      address: { socket_address: { address, port_value: 80 } },
      health_status: { eds_health_status },
    });
    const clusters = {
      cluster_statuses: [
        { name: 'a', host_statuses: [host('10.0.0.1', 'HEALTHY'), host('10.0.0.2', 'UNHEALTHY')] },
        { name: 'b', host_statuses: [host('10.0.0.3', 'HEALTHY')] },
      ],
    };
    expect(endpointsTable(clusters, { cluster: 'a', status: 'healthy' }).slice(1).map(cols)).toEqual([
      ['10.0.0.1:80', 'HEALTHY', 'a'],
    ]);
  });
});
