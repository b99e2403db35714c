import {
  canonical,
  compareConfig,
  formatComparison,
  formatStatus,
  statusRows,
  syncState,
  type SynczRow,
} from './proxy-status';

const sent = (v: string, n: string) => ({
  sent_version: v,
  sent_nonce: n,
  acked_version: v,
  acked_nonce: n,
  last_nack: null,
});
const syncz: SynczRow[] = [
  {
    proxy: 'sidecar~127.0.0.2~reviews-v2-abc.default~default.svc.cluster.local',
    types: { cds: sent('7', 'a'), lds: sent('7', 'b'), eds: sent('7', 'c'), rds: sent('7', 'd') },
  },
  {
    proxy: 'sidecar~127.0.0.10~productpage-v1-abc.default~default.svc.cluster.local',
    types: {
      cds: { sent_version: '8', sent_nonce: 'e', acked_version: '7', acked_nonce: 'x', last_nack: null },
      lds: {
        sent_version: '8',
        sent_nonce: 'f',
        acked_version: '7',
        acked_nonce: 'y',
        last_nack: { version: '7', nonce: 'f', error: 'listener "l": bad port' },
      },
      eds: sent('8', 'g'),
    },
  },
];

describe('proxy-status table', () => {
  it('SYNCED, STALE, NACKED and NOT SENT per type, one row per proxy with the newest version', () => {
    const lines = formatStatus(statusRows(syncz, '127.0.0.1:15014'));
    expect(lines[0]).toMatch(/^NAME\s+CDS\s+LDS\s+EDS\s+RDS\s+PILOT\s+VERSION$/);
    expect(lines[1].split(/\s{2,}/)).toEqual([
      'productpage-v1-abc.default',
      'STALE',
      'NACKED: listener "l": bad port',
      'SYNCED',
      'NOT SENT',
      '127.0.0.1:15014',
      '8',
    ]);
    expect(lines[2].split(/\s{2,}/)).toEqual([
      'reviews-v2-abc.default',
      'SYNCED',
      'SYNCED',
      'SYNCED',
      'SYNCED',
      '127.0.0.1:15014',
      '7',
    ]);
  });

  it('a NACK of an older response no longer counts once a newer one is sent', () => {
    expect(
      syncState({
        sent_version: '9',
        sent_nonce: 'z',
        acked_version: '9',
        acked_nonce: 'z',
        last_nack: { version: '7', nonce: 'f', error: 'old' },
      }),
    ).toBe('SYNCED');
    expect(syncState(undefined)).toBe('NOT SENT');
  });
});

const C = 'type.googleapis.com/envoy.admin.v3.';
const proxyDump = (clusterNames: string[], version: string) => ({
  configs: [
    { '@type': `${C}BootstrapConfigDump`, bootstrap: {} },
    {
      '@type': `${C}ClustersConfigDump`,
      version_info: version,
      static_clusters: [{ cluster: { name: 'xds-grpc' } }],
      dynamic_active_clusters: clusterNames.map((name) => ({ version_info: version, cluster: { name } })),
    },
    {
      '@type': `${C}EndpointsConfigDump`,
      dynamic_endpoint_configs: [{ version_info: '7', endpoint_config: { cluster_name: 'outbound|9080||reviews' } }],
    },
    {
      '@type': `${C}ListenersConfigDump`,
      version_info: '7',
      dynamic_listeners: [{ name: 'l1', active_state: { version_info: '7', listener: { name: 'l1' } } }],
    },
    { '@type': `${C}RoutesConfigDump`, dynamic_route_configs: [{ version_info: '7', route_config: { name: '9080' } }] },
  ],
});
const pilotDump = {
  cds: [{ name: 'outbound|9080||reviews' }, { name: 'outbound|9080|v1|reviews' }],
  eds: [{ cluster_name: 'outbound|9080||reviews' }],
  lds: [{ name: 'l1' }],
  rds: [{ name: '9080' }],
};

describe('proxy-status PROXY comparison', () => {
  it('matches when names and versions agree (static clusters are not Pilot’s)', () => {
    const cmp = compareConfig(
      pilotDump,
      proxyDump(['outbound|9080||reviews', 'outbound|9080|v1|reviews'], '7'),
      syncz[0],
    );
    expect(cmp.map((c) => [c.type, c.match])).toEqual([
      ['cds', true],
      ['lds', true],
      ['eds', true],
      ['rds', true],
    ]);
  });

  it('names the first differences: a missing cluster, an extra one, an old version', () => {
    const cmp = compareConfig(pilotDump, proxyDump(['outbound|9080||reviews', 'outbound|80||gone'], '6'), syncz[0]);
    expect(cmp[0]).toMatchObject({ type: 'cds', match: false, pilotVersion: '7', proxyVersion: '6' });
    expect(cmp[0].differences).toEqual([
      'missing on the proxy: outbound|9080|v1|reviews',
      'only on the proxy: outbound|80||gone',
      'version: Pilot sent 7, the proxy has 6',
    ]);
    const text = formatComparison('p', cmp);
    expect(text[1]).toBe('CDS: DIFFERS (Pilot 2 resource(s) version 7; proxy 2 version 6)');
    expect(text[2]).toBe('  missing on the proxy: outbound|9080|v1|reviews');
  });
});

test('the newest version compares push numbers as numbers', () => {
  const row = (v: string): SynczRow => ({ proxy: 'p', types: { cds: sent(v, 'n') } });
  expect(statusRows([{ proxy: 'p', types: { ...row('t/9').types, lds: sent('t/10', 'm') } }], 'x')[0].version).toBe(
    't/10',
  );
});

test('content: proto3 defaults and @type do not count, a changed field does', () => {
  expect(canonical({ '@type': 'x', name: 'c', health_checks: [], b: { z: 1, a: false } })).toBe(
    canonical({ b: { z: 1 }, name: 'c' }),
  );
  const dump = proxyDump(['outbound|9080||reviews', 'outbound|9080|v1|reviews'], '7');
  const clusters = dump.configs[1] as { dynamic_active_clusters: Array<{ cluster: Record<string, unknown> }> };
  clusters.dynamic_active_clusters[1].cluster['lb_policy'] = 'RANDOM';
  const cmp = compareConfig(pilotDump, dump, syncz[0]);
  expect([cmp[0].match, cmp[0].differences]).toEqual([false, ['content differs: outbound|9080|v1|reviews']]);
});
