import { decode, encode } from '@tsmesh/protocol';
import { defaultMeshSettings } from '../../model/mesh';
import type { Proxy } from '../../model/proxy';
import type { Service } from '../../model/types';
import {
  buildMixerFilter,
  buildTcpMixerFilter,
  mixerCluster,
  mixerDirection,
  POLICY_CHECK,
  POLICY_CHECK_BASE_RETRY_WAIT,
  POLICY_CHECK_MAX_RETRY_WAIT,
  POLICY_CHECK_RETRIES,
  quotaSpecsFor,
} from './build';

const proxy: Proxy = {
  id: 'sidecar~10.1.1.5~ratings-v1-7b9f.default~default.svc.cluster.local',
  type: 'sidecar',
  ip: '10.1.1.5',
  ips: ['10.1.1.5'],
  podId: 'ratings-v1-7b9f.default',
  namespace: 'default',
  domain: 'default.svc.cluster.local',
  labels: { app: 'ratings', version: 'v1' },
  metadata: {},
  generator: 'envoy',
};
const ratings: Service = {
  hostname: 'ratings.default.svc.cluster.local',
  name: 'ratings',
  namespace: 'default',
  address: '10.0.0.20',
  ports: [{ name: 'http', port: 9080, protocol: 'HTTP' }],
  resolution: 'EDS',
  meshExternal: false,
  source: 'Service/default/ratings',
};
const mesh = {
  ...defaultMeshSettings(),
  disablePolicyChecks: false,
  mixerCheckServer: 'istio-policy.istio-system.svc.cluster.local:9091',
  mixerReportServer: 'istio-telemetry.istio-system.svc.cluster.local:9091',
};

type Cfg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the proxy receives: the typed_config through the real proto (catches wrong field names). */
function onTheWire(filter: Record<string, unknown>): Cfg {
  const { '@type': type, ...body } = filter['typed_config'] as Cfg;
  expect(type).toBe('type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig');
  return decode(
    'istio.mixer.v1.config.client.HttpClientConfig',
    encode('istio.mixer.v1.config.client.HttpClientConfig', body),
  );
}

it('names the check and report clusters the Istio way', () => {
  expect(mixerCluster('istio-policy.istio-system.svc.cluster.local:9091')).toBe(
    'outbound|9091||istio-policy.istio-system.svc.cluster.local',
  );
});

it('inbound: checks on, FAIL_CLOSE by default, destination attributes, bound quota spec', () => {
  const specs = quotaSpecsFor(
    ratings,
    [
      {
        namespace: 'istio-system',
        spec: {
          services: [{ name: 'ratings', namespace: 'default' }],
          quotaSpecs: [{ name: 'request-count', namespace: 'istio-system' }],
        },
      },
    ],
    [
      {
        name: 'request-count',
        namespace: 'istio-system',
        spec: { rules: [{ quotas: [{ quota: 'requestcount', charge: 1 }] }] },
      },
    ],
  );
  const cfg = onTheWire(
    buildMixerFilter(proxy, ratings, mesh, { direction: 'inbound', port: 9080, quotaSpecs: specs }),
  );
  expect(cfg['transport']).toMatchObject({
    check_cluster: 'outbound|9091||istio-policy.istio-system.svc.cluster.local',
    report_cluster: 'outbound|9091||istio-telemetry.istio-system.svc.cluster.local',
    network_fail_policy: { policy: 'FAIL_CLOSE' },
  });
  const attrs = cfg['mixer_attributes']['attributes'];
  expect(attrs['context.reporter.kind']).toEqual({ string_value: 'inbound' });
  expect(attrs['destination.uid']).toEqual({ string_value: 'kubernetes://ratings-v1-7b9f.default' });
  expect(attrs['destination.port']).toEqual({ int64_value: 9080 });
  expect(cfg['default_destination_service']).toBe('ratings.default.svc.cluster.local');
  const svc = cfg['service_configs']['ratings.default.svc.cluster.local'];
  expect(svc['disable_check_calls']).toBeFalsy();
  expect(svc['mixer_attributes']['attributes']['destination.service.host']).toEqual({
    string_value: 'ratings.default.svc.cluster.local',
  });
  expect(svc['quota_spec'][0]['rules'][0]['quotas']).toEqual([{ quota: 'requestcount', charge: 1 }]);
});

it('policyCheckFailOpen → FAIL_OPEN; disablePolicyChecks → checks off', () => {
  const cfg = onTheWire(
    buildMixerFilter(
      proxy,
      ratings,
      { ...mesh, policyCheckFailOpen: true, disablePolicyChecks: true },
      { direction: 'inbound', port: 9080 },
    ),
  );
  expect(cfg['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_OPEN' });
  expect(cfg['service_configs']['ratings.default.svc.cluster.local']['disable_check_calls']).toBe(true);
});

it("the node metadata's policy.istio.io/checkRetries, checkBaseRetryWaitTime and checkMaxRetryWaitTime set the Check retries (Istio 1.1), HTTP and TCP", () => {
  const annotated: Proxy = {
    ...proxy,
    metadata: {
      [POLICY_CHECK_RETRIES]: '3',
      [POLICY_CHECK_BASE_RETRY_WAIT]: '100ms',
      [POLICY_CHECK_MAX_RETRY_WAIT]: '1.5s',
    },
  };
  const expected = {
    policy: 'FAIL_CLOSE',
    max_retry: 3,
    base_retry_wait: { seconds: 0, nanos: 100_000_000 },
    max_retry_wait: { seconds: 1, nanos: 500_000_000 },
  };
  const http = onTheWire(buildMixerFilter(annotated, ratings, mesh, { direction: 'inbound', port: 9080 }));
  expect(http['transport']['network_fail_policy']).toMatchObject(expected);
  const tcpFilter = buildTcpMixerFilter(annotated, ratings, mesh, { direction: 'inbound', port: 27017 });
  const { '@type': _t, ...tcpBody } = tcpFilter['typed_config'] as Cfg;
  const tcp = decode<Cfg>(
    'istio.mixer.v1.config.client.TcpClientConfig',
    encode('istio.mixer.v1.config.client.TcpClientConfig', tcpBody),
  );
  expect(tcp['transport']['network_fail_policy']).toMatchObject(expected);
});

it('retry metadata that does not parse, or a max wait below the base, is left out: the proxy defaults apply', () => {
  const policyOf = (metadata: Record<string, unknown>) =>
    onTheWire(buildMixerFilter({ ...proxy, metadata }, ratings, mesh, { direction: 'inbound', port: 9080 }))[
      'transport'
    ]['network_fail_policy'];
  // no keys: as before, the policy alone
  expect(policyOf({})).toEqual({ policy: 'FAIL_CLOSE' });
  expect(
    policyOf({
      [POLICY_CHECK_RETRIES]: 'many',
      [POLICY_CHECK_BASE_RETRY_WAIT]: 'soon',
      [POLICY_CHECK_MAX_RETRY_WAIT]: '-1s',
    }),
  ).toEqual({ policy: 'FAIL_CLOSE' });
  expect(policyOf({ [POLICY_CHECK_RETRIES]: '-2' })).toEqual({ policy: 'FAIL_CLOSE' });
  // 2 s base over the default 1 s max
  expect(policyOf({ [POLICY_CHECK_RETRIES]: '1', [POLICY_CHECK_BASE_RETRY_WAIT]: '2s' })).toEqual({
    policy: 'FAIL_CLOSE',
    max_retry: 1,
  });
});

describe('node metadata policy.istio.io/check (Istio 1.1+ Pilot)', () => {
  const tcpWire = (filter: Record<string, unknown>): Cfg => {
    const { '@type': _t, ...body } = filter['typed_config'] as Cfg;
    return decode(
      'istio.mixer.v1.config.client.TcpClientConfig',
      encode('istio.mixer.v1.config.client.TcpClientConfig', body),
    );
  };
  /** What the proxy receives with this metadata and mesh: the fail policy, and where Check is on. */
  const observe = (metadata: Record<string, unknown>, meshOver: Partial<typeof mesh> = {}) => {
    const p: Proxy = { ...proxy, metadata };
    const m = { ...mesh, ...meshOver };
    const host = ratings.hostname;
    const httpIn = onTheWire(buildMixerFilter(p, ratings, m, { direction: 'inbound', port: 9080 }));
    const httpOut = onTheWire(buildMixerFilter(p, ratings, m, { direction: 'outbound' }));
    // an outbound HTTP listener serves many services: the `default` ServiceConfig
    const httpOutAny = onTheWire(buildMixerFilter(p, undefined, m, { direction: 'outbound' }));
    const tcpIn = tcpWire(buildTcpMixerFilter(p, ratings, m, { direction: 'inbound', port: 27017 }));
    const tcpOut = tcpWire(buildTcpMixerFilter(p, ratings, m, { direction: 'outbound', port: 27017 }));
    for (const cfg of [httpOut, httpOutAny, tcpIn, tcpOut])
      expect(cfg['transport']['network_fail_policy']).toEqual(httpIn['transport']['network_fail_policy']);
    return {
      policy: httpIn['transport']['network_fail_policy']['policy'] as string,
      checks: {
        httpInbound: !httpIn['service_configs'][host]['disable_check_calls'],
        httpOutbound: !httpOut['service_configs'][host]['disable_check_calls'],
        httpOutboundDefault: !httpOutAny['service_configs']['default']['disable_check_calls'],
        tcpInbound: !tcpIn['disable_check_calls'],
        tcpOutbound: !tcpOut['disable_check_calls'],
      },
    };
  };
  const everywhere = (on: boolean) => ({
    httpInbound: on,
    httpOutbound: on,
    httpOutboundDefault: on,
    tcpInbound: on,
    tcpOutbound: on,
  });
  const serverSideOnly = {
    httpInbound: true,
    httpOutbound: false,
    httpOutboundDefault: false,
    tcpInbound: true,
    tcpOutbound: false,
  };

  it('unset: the mesh decides (checks inbound unless disablePolicyChecks, FAIL_CLOSE unless policyCheckFailOpen)', () => {
    expect(observe({})).toEqual({ policy: 'FAIL_CLOSE', checks: serverSideOnly });
    expect(observe({}, { policyCheckFailOpen: true })).toEqual({ policy: 'FAIL_OPEN', checks: serverSideOnly });
    expect(observe({}, { disablePolicyChecks: true })).toEqual({ policy: 'FAIL_CLOSE', checks: everywhere(false) });
  });

  it('"enable": Check on in both directions and fail closed, over disablePolicyChecks and policyCheckFailOpen', () => {
    const meta = { [POLICY_CHECK]: 'enable' };
    expect(observe(meta)).toEqual({ policy: 'FAIL_CLOSE', checks: everywhere(true) });
    expect(observe(meta, { disablePolicyChecks: true, policyCheckFailOpen: true })).toEqual({
      policy: 'FAIL_CLOSE',
      checks: everywhere(true),
    });
  });

  it('"allow-on-error": Check on in both directions, fail open, over disablePolicyChecks', () => {
    const meta = { [POLICY_CHECK]: 'allow-on-error' };
    expect(observe(meta)).toEqual({ policy: 'FAIL_OPEN', checks: everywhere(true) });
    expect(observe(meta, { disablePolicyChecks: true })).toEqual({ policy: 'FAIL_OPEN', checks: everywhere(true) });
  });

  it('"disable": no Check calls in either direction (disable_check_calls), fail open, whatever the mesh says', () => {
    const meta = { [POLICY_CHECK]: 'disable' };
    // the mesh of these tests checks inbound and fails closed
    expect(observe(meta)).toEqual({ policy: 'FAIL_OPEN', checks: everywhere(false) });
    expect(observe(meta, { disablePolicyChecks: true })).toEqual({ policy: 'FAIL_OPEN', checks: everywhere(false) });
  });

  it('any other value is ignored as Istio did: the mesh settings apply', () => {
    for (const v of ['Enable', 'DISABLE', ' disable', 'allow_on_error', 'true', 'false', '', 1, true, null, {}])
      expect(observe({ [POLICY_CHECK]: v }, { policyCheckFailOpen: true })).toEqual({
        policy: 'FAIL_OPEN',
        checks: serverSideOnly,
      });
  });

  it('the check retries still apply alongside the override', () => {
    const cfg = onTheWire(
      buildMixerFilter(
        { ...proxy, metadata: { [POLICY_CHECK]: 'allow-on-error', [POLICY_CHECK_RETRIES]: '2' } },
        ratings,
        mesh,
        { direction: 'inbound', port: 9080 },
      ),
    );
    expect(cfg['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_OPEN', max_retry: 2 });
  });
});

it('outbound: reporter source, no checks, forwards source.uid and labels to the next hop', () => {
  const cfg = onTheWire(buildMixerFilter(proxy, ratings, mesh, { direction: 'outbound' }));
  expect(cfg['mixer_attributes']['attributes']['context.reporter.kind']).toEqual({ string_value: 'outbound' });
  expect(cfg['forward_attributes']['attributes']['source.uid']).toEqual({
    string_value: 'kubernetes://ratings-v1-7b9f.default',
  });
  expect(cfg['service_configs']['ratings.default.svc.cluster.local']['disable_check_calls']).toBe(true);
});

it('a gateway (router) reports as the source side even on the listeners it serves', () => {
  expect(mixerDirection({ type: 'router' }, 'inbound')).toBe('outbound');
  expect(mixerDirection({ type: 'sidecar' }, 'inbound')).toBe('inbound');
  expect(mixerDirection({ type: 'sidecar' }, 'outbound')).toBe('outbound');
});

describe('TCP mixer filter (TcpClientConfig)', () => {
  const tcpWire = (filter: Record<string, unknown>): Cfg => {
    const { '@type': type, ...body } = filter['typed_config'] as Cfg;
    expect(type).toBe('type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig');
    return decode(
      'istio.mixer.v1.config.client.TcpClientConfig',
      encode('istio.mixer.v1.config.client.TcpClientConfig', body),
    );
  };
  const mongo: Service = { ...ratings, hostname: 'mongodb.default.svc.cluster.local', name: 'mongodb' };

  it('inbound: the workload as destination plus the service, policy checked; fail-closed transport', () => {
    const cfg = tcpWire(buildTcpMixerFilter(proxy, mongo, mesh, { direction: 'inbound', port: 27017 }));
    expect(cfg['disable_check_calls']).toBe(false);
    expect(cfg['transport']).toMatchObject({
      check_cluster: 'outbound|9091||istio-policy.istio-system.svc.cluster.local',
      report_cluster: 'outbound|9091||istio-telemetry.istio-system.svc.cluster.local',
      network_fail_policy: { policy: 'FAIL_CLOSE' },
    });
    const a = cfg['mixer_attributes']['attributes'];
    expect(a['context.reporter.kind']['string_value']).toBe('inbound');
    expect(a['destination.uid']['string_value']).toBe('kubernetes://ratings-v1-7b9f.default');
    expect(a['destination.port']['int64_value']).toBe(27017);
    expect(a['destination.service.host']['string_value']).toBe('mongodb.default.svc.cluster.local');
    expect(a['destination.service.name']['string_value']).toBe('mongodb');
    expect(a['destination.labels']['string_map_value']['entries']).toEqual({ app: 'ratings', version: 'v1' });
  });

  it('outbound: the workload as source, no checks; disablePolicyChecks turns inbound checks off too', () => {
    const out = tcpWire(buildTcpMixerFilter(proxy, mongo, mesh, { direction: 'outbound', port: 27017 }));
    expect(out['disable_check_calls']).toBe(true);
    expect(out['mixer_attributes']['attributes']['source.uid']['string_value']).toBe(
      'kubernetes://ratings-v1-7b9f.default',
    );
    expect(out['mixer_attributes']['attributes']['context.reporter.kind']['string_value']).toBe('outbound');
    const off = tcpWire(
      buildTcpMixerFilter(proxy, mongo, { ...mesh, disablePolicyChecks: true }, { direction: 'inbound' }),
    );
    expect(off['disable_check_calls']).toBe(true);
  });
});
