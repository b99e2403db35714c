// The Mixer filter's config: NetworkFailPolicy's retry fields (Istio 1.1+ max_retry,
// base_retry_wait, max_retry_wait) with istio/proxy's defaults, refused by field path when bad;
// read from the object form, from Envoy YAML through the engine, and from the binary form xDS sends.
import { decode, encode, fromYaml } from '@tsmesh/protocol';
import type { FieldError } from '@tsmesh/core';
import { httpListenerYaml, testEngine, yamlSnapshot } from '../../../engine/testing';
import type { Msg } from '../../../engine/types';
import { DEFAULT_RETRY_POLICY, parseMixerConfig, parseServiceConfig } from './config';
import { mixerFilterWith } from './index';

const HTTP_CLIENT_CONFIG = 'istio.mixer.v1.config.client.HttpClientConfig';

const parse = (m: Msg) => {
  const errors: FieldError[] = [];
  return { config: parseMixerConfig(m, 'typed_config', errors), errors };
};
const withPolicy = (policy: Msg) => parse({ transport: { check_cluster: 'mixer:9091', network_fail_policy: policy } });

describe('network_fail_policy retry fields', () => {
  it("defaults to istio/proxy's: no retries, waits from 80 ms to 1 s, with or without a policy message", () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxRetry: 0, baseRetryMs: 80, maxRetryMs: 1000 });
    for (const { config, errors } of [parse({}), withPolicy({ policy: 'FAIL_CLOSE' }), withPolicy({})]) {
      expect(errors).toEqual([]);
      expect(config.retry).toEqual(DEFAULT_RETRY_POLICY);
    }
    expect(parse({}).config.failOpen).toBe(true);
    expect(withPolicy({ policy: 'FAIL_CLOSE' }).config.failOpen).toBe(false);
  });

  it('reads max_retry and the waits as protobuf JSON durations or {seconds, nanos}', () => {
    const { config, errors } = withPolicy({
      policy: 'FAIL_CLOSE',
      max_retry: 3,
      base_retry_wait: '0.05s',
      max_retry_wait: { seconds: 2, nanos: 500_000_000 },
    });
    expect(errors).toEqual([]);
    expect(config.failOpen).toBe(false);
    expect(config.retry).toEqual({ maxRetry: 3, baseRetryMs: 50, maxRetryMs: 2500 });
    // only the field given changes; the other keeps its default
    expect(withPolicy({ base_retry_wait: '0.2s' }).config.retry).toEqual({
      maxRetry: 0,
      baseRetryMs: 200,
      maxRetryMs: 1000,
    });
    expect(withPolicy({ max_retry: '4' }).config.retry.maxRetry).toBe(4);
  });

  it('keeps whole milliseconds and caps a wait at one day, as istio/proxy does', () => {
    expect(
      withPolicy({ base_retry_wait: '0.0805s', max_retry_wait: { seconds: 1, nanos: 999_999 } }).config.retry,
    ).toEqual({
      maxRetry: 0,
      baseRetryMs: 80,
      maxRetryMs: 1000,
    });
    const { config, errors } = withPolicy({ base_retry_wait: '0s', max_retry_wait: { seconds: 10 * 86_400 } });
    expect(errors).toEqual([]);
    expect(config.retry).toEqual({ maxRetry: 0, baseRetryMs: 0, maxRetryMs: 86_400_000 });
  });

  it('refuses a negative or malformed value by field path', () => {
    const { errors } = withPolicy({ max_retry: -1, base_retry_wait: '-1s', max_retry_wait: 'soon' });
    expect(errors.map((e) => e.path)).toEqual([
      'typed_config.transport.network_fail_policy.max_retry',
      'typed_config.transport.network_fail_policy.base_retry_wait',
      'typed_config.transport.network_fail_policy.max_retry_wait',
    ]);
    for (const bad of [1.5, 'x', 2 ** 32, true])
      expect(withPolicy({ max_retry: bad }).errors).toEqual([
        { path: 'typed_config.transport.network_fail_policy.max_retry', message: expect.any(String) },
      ]);
    expect(withPolicy({ base_retry_wait: { seconds: -1 } }).errors.map((e) => e.path)).toEqual([
      'typed_config.transport.network_fail_policy.base_retry_wait',
    ]);
  });

  it('refuses a max_retry_wait below base_retry_wait, given or defaulted, at the field that was given', () => {
    expect(withPolicy({ base_retry_wait: '0.5s', max_retry_wait: '0.1s' }).errors).toEqual([
      {
        path: 'typed_config.transport.network_fail_policy.max_retry_wait',
        message: 'max_retry_wait (100ms) must not be less than base_retry_wait (500ms)',
      },
    ]);
    // the default base is 80 ms
    expect(withPolicy({ max_retry_wait: '0.05s' }).errors.map((e) => e.path)).toEqual([
      'typed_config.transport.network_fail_policy.max_retry_wait',
    ]);
    // the default max is 1 s
    expect(withPolicy({ base_retry_wait: '2s' }).errors.map((e) => e.path)).toEqual([
      'typed_config.transport.network_fail_policy.base_retry_wait',
    ]);
    expect(withPolicy({ base_retry_wait: '2s', max_retry_wait: '2s' }).errors).toEqual([]);
  });

  it("a ServiceConfig's policy sets its fail policy; its retry fields are checked but, as in istio/proxy, not used", () => {
    const errors: FieldError[] = [];
    const svc = parseServiceConfig(
      { network_fail_policy: { policy: 'FAIL_CLOSE', max_retry: 2, base_retry_wait: '0.1s' } },
      'svc',
      errors,
    );
    expect(errors).toEqual([]);
    expect(svc.failOpen).toBe(false);
    expect(svc).not.toHaveProperty('retry');
    parseServiceConfig({ network_fail_policy: { max_retry_wait: '-2s' } }, 'svc', errors);
    expect(errors.map((e) => e.path)).toEqual(['svc.network_fail_policy.max_retry_wait']);
  });

  it('survives the binary form (the HttpClientConfig proto has fields 2-4 of NetworkFailPolicy)', () => {
    const obj = fromYaml<Msg>(
      HTTP_CLIENT_CONFIG,
      `
transport:
  check_cluster: "outbound|9091||istio-policy.istio-system.svc.cluster.local"
  network_fail_policy: {policy: FAIL_CLOSE, max_retry: 2, base_retry_wait: 0.08s, max_retry_wait: 1.5s}
`,
    );
    const back = decode<Msg>(HTTP_CLIENT_CONFIG, encode(HTTP_CLIENT_CONFIG, obj));
    const { config, errors } = parse(back);
    expect(errors).toEqual([]);
    expect(config).toMatchObject({ failOpen: false, retry: { maxRetry: 2, baseRetryMs: 80, maxRetryMs: 1500 } });
  });
});

describe('through the engine', () => {
  const mixerFilter = (policy: string) => `- name: mixer
  typed_config:
    "@type": type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig
    transport: {check_cluster: "127.0.0.1:9", network_fail_policy: ${policy}}`;

  it('a listener with the retry fields in Envoy YAML is accepted', async () => {
    const dp = testEngine();
    const filter = mixerFilterWith();
    dp.filters.register(filter);
    try {
      await dp.apply(
        yamlSnapshot({
          listeners: [
            httpListenerYaml('l', 'r', [
              mixerFilter('{policy: FAIL_CLOSE, max_retry: 2, base_retry_wait: 0.08s, max_retry_wait: 1s}'),
            ]),
          ],
        }),
      );
    } finally {
      await dp.stop();
      await filter.handle.close();
    }
  });

  it('a listener whose max_retry_wait is below its base_retry_wait is refused (NACK) with the field path', async () => {
    const dp = testEngine();
    const filter = mixerFilterWith();
    dp.filters.register(filter);
    try {
      await expect(
        dp.apply(
          yamlSnapshot({
            listeners: [
              httpListenerYaml('l', 'r', [mixerFilter('{max_retry: 1, base_retry_wait: 2s, max_retry_wait: 1s}')]),
            ],
          }),
        ),
      ).rejects.toThrow(/typed_config\.transport\.network_fail_policy\.max_retry_wait: max_retry_wait \(1000ms\)/);
    } finally {
      await dp.stop();
      await filter.handle.close();
    }
  });
});
