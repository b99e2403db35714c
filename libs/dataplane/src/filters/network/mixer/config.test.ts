import type { FieldError } from '@tsmesh/core';
import { staticClusterYaml, testEngine, yamlSnapshot } from '../../../engine/testing';
import { DEFAULT_REPORT_INTERVAL_MS, parseTcpMixerConfig } from './config';
import { tcpMixerFilterWith } from './index';

const parse = (m: Record<string, unknown>) => {
  const errors: FieldError[] = [];
  return { config: parseTcpMixerConfig(m, 'typed_config', errors), errors };
};

it('reads transport, switches, static attributes and report_interval (default 10 s)', () => {
  const { config, errors } = parse({
    transport: {
      check_cluster: 'outbound|9091||istio-policy.istio-system.svc.cluster.local',
      report_cluster: 'outbound|9091||istio-telemetry.istio-system.svc.cluster.local',
      network_fail_policy: { policy: 'FAIL_CLOSE' },
    },
    disable_check_calls: true,
    mixer_attributes: { attributes: { 'destination.service.name': { string_value: 'mongodb' } } },
  });
  expect(errors).toEqual([]);
  expect(config).toMatchObject({
    checkCluster: 'outbound|9091||istio-policy.istio-system.svc.cluster.local',
    failOpen: false,
    disableCheck: true,
    disableReport: false,
    attributes: { 'destination.service.name': 'mongodb' },
    reportIntervalMs: DEFAULT_REPORT_INTERVAL_MS,
  });
  expect(parse({ report_interval: { seconds: 2 } }).config.reportIntervalMs).toBe(2000);
  // no policy given: istio/proxy's default, FAIL_OPEN
  expect(parse({}).config.failOpen).toBe(true);
});

it("reads the policy's Check retries as the HTTP filter does (default none, waits 80 ms to 1 s), refused by field path", () => {
  expect(parse({}).config.retry).toEqual({ maxRetry: 0, baseRetryMs: 80, maxRetryMs: 1000 });
  const { config, errors } = parse({
    transport: { network_fail_policy: { max_retry: 2, base_retry_wait: '0.05s', max_retry_wait: { seconds: 2 } } },
  });
  expect(errors).toEqual([]);
  expect(config.retry).toEqual({ maxRetry: 2, baseRetryMs: 50, maxRetryMs: 2000 });
  expect(
    parse({ transport: { network_fail_policy: { max_retry: -1, max_retry_wait: '0.01s' } } }).errors.map((e) => e.path),
  ).toEqual([
    'typed_config.transport.network_fail_policy.max_retry',
    'typed_config.transport.network_fail_policy.max_retry_wait',
  ]);
});

it('refuses a bad report_interval, connection_quota_spec and an attribute without a value, by field path', () => {
  const { errors } = parse({
    report_interval: 'soon',
    connection_quota_spec: { rules: [{ quotas: [{ quota: 'q', charge: 1 }] }] },
    mixer_attributes: { attributes: { 'source.uid': {} } },
  });
  expect(errors.map((e) => e.path)).toEqual([
    'typed_config.report_interval',
    'typed_config.connection_quota_spec',
    'typed_config.mixer_attributes.attributes.source.uid',
  ]);
});

it('a listener whose TCP mixer filter is bad is refused as a whole (NACK) with the filter path', async () => {
  const dp = testEngine();
  dp.filters.registerNetwork(tcpMixerFilterWith());
  const listener = `
name: tcp
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- filters:
  - name: mixer
    typed_config:
      "@type": type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig
      report_interval: 0s
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: up
      cluster: up
`;
  try {
    await expect(
      dp.apply(yamlSnapshot({ listeners: [listener], clusters: [staticClusterYaml('up', ['127.0.0.1:9'])] })),
    ).rejects.toThrow(/filter_chains\[0\]\.filters\[0\]\.typed_config\.report_interval: must be a positive duration/);
  } finally {
    await dp.stop();
  }
});
