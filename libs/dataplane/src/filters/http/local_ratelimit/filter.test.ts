import { FakeClock, SequenceRandom, type FieldError } from '@tsmesh/core';
import { httpListenerYaml, testEngine, yamlSnapshot } from '../../../engine/testing';
import type { Msg } from '../../../engine/types';
import type { HttpStreamContext, LocalReply } from '../../types';
import { factoryContext, fakeStream, type FakeStreamOptions } from '../jwt_authn/testing';
import {
  LOCAL_RATE_LIMIT_NAME,
  LOCAL_RATE_LIMIT_TYPE_URL,
  localRateLimitFilter,
  parseLocalRateLimit,
  parseLocalRateLimitPerRoute,
  type LocalRateLimitConfig,
} from './index';

const ALWAYS = { runtime_key: 'k', default_value: { numerator: 100, denominator: 'HUNDRED' } };

function config(extra: Msg = {}): Msg {
  return {
    stat_prefix: 'rl',
    token_bucket: { max_tokens: 2, tokens_per_fill: { value: 1 }, fill_interval: { seconds: 1 } },
    filter_enabled: ALWAYS,
    filter_enforced: ALWAYS,
    ...extra,
  };
}

function parsed(m: Msg, perRoute = false): { cfg: LocalRateLimitConfig; errors: string[] } {
  const errors: FieldError[] = [];
  const parse = perRoute ? parseLocalRateLimitPerRoute : parseLocalRateLimit;
  const cfg = parse(m, 'typed_config', errors);
  return { cfg, errors: errors.map((e) => `${e.path}: ${e.message}`) };
}

function setup(m: Msg, random = new SequenceRandom([0])) {
  const { cfg, errors } = parsed(m);
  expect(errors).toEqual([]);
  const clock = new FakeClock();
  const fctx = { ...factoryContext(LOCAL_RATE_LIMIT_NAME, clock), random };
  const factory = localRateLimitFilter.create(cfg, fctx);
  const send = (stream: FakeStreamOptions | HttpStreamContext = {}) => {
    const ctx = 'info' in stream ? stream : fakeStream(stream);
    return { reply: factory().onRequest?.(ctx) as LocalReply | undefined, ctx };
  };
  const stat = (name: string) => fctx.stats.value(`rl.http_local_rate_limit.${name}`);
  return { send, clock, stat };
}

describe('local rate limit config', () => {
  it('reads the bucket, status, fractions and headers', () => {
    const { cfg, errors } = parsed(
      config({
        status: { code: 'ServiceUnavailable' },
        filter_enforced: { runtime_key: 'e', default_value: { numerator: 5000, denominator: 'TEN_THOUSAND' } },
        response_headers_to_add: [{ append: { value: false }, header: { key: 'X-Local-Rate-Limit', value: 'true' } }],
      }),
    );
    expect(errors).toEqual([]);
    expect(cfg).toMatchObject({
      statPrefix: 'rl',
      status: 503,
      bucket: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1000 },
      enabled: 1,
      enforced: 0.5,
      responseHeaders: [{ key: 'x-local-rate-limit', value: 'true', action: 'overwrite' }],
      perConnection: false,
    });
  });

  it('defaults to 429, tokens_per_fill 1 and a filter neither enabled nor enforced', () => {
    const { cfg } = parsed({ stat_prefix: 'rl', token_bucket: { max_tokens: 3, fill_interval: '60s' } });
    expect(cfg).toMatchObject({ status: 429, enabled: 0, enforced: 0, bucket: { tokensPerFill: 1 } });
  });

  it('uses 429 for a configured status below 400 (Envoy)', () => {
    expect(parsed(config({ status: { code: 'OK' } })).cfg.status).toBe(429);
    expect(parsed(config({ status: { code: 302 } })).cfg.status).toBe(429);
  });

  it('reports bad fields with their paths', () => {
    const { errors } = parsed({
      stat_prefix: '',
      status: { code: 'NoSuchStatus' },
      token_bucket: { max_tokens: 0, tokens_per_fill: { value: 0 }, fill_interval: '10ms' },
      descriptors: [{ entries: [{ key: 'k', value: 'v' }] }],
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
      response_headers_to_add: [{ header: { key: '', value: 'x' } }],
    });
    expect(errors).toEqual([
      'typed_config.stat_prefix: is required',
      'typed_config.descriptors: not supported by tsmesh',
      'typed_config.enable_x_ratelimit_headers: not supported by tsmesh',
      'typed_config.token_bucket.max_tokens: must be greater than 0',
      'typed_config.token_bucket.tokens_per_fill: must be greater than 0',
      'typed_config.token_bucket.fill_interval: must be at least 50ms',
      'typed_config.status.code: unknown HTTP status NoSuchStatus',
      'typed_config.response_headers_to_add[0].header.key: header key is required',
    ]);
  });

  it('requires a token bucket per route but not on the listener', () => {
    expect(parsed({ stat_prefix: 'rl' }).errors).toEqual([]);
    expect(parsed({ stat_prefix: 'rl' }, true).errors).toEqual([
      'typed_config.token_bucket: is required in a per-route (typed_per_filter_config) config',
    ]);
  });
});

describe('local rate limit filter', () => {
  it('passes requests while tokens last, then refuses with 429 local_rate_limited, x-envoy-ratelimited and RL', () => {
    const { send, stat } = setup(
      config({ response_headers_to_add: [{ header: { key: 'x-local-rate-limit', value: 'true' } }] }),
    );
    expect(send().reply).toBeUndefined();
    expect(send().reply).toBeUndefined();
    expect(send().reply).toEqual({
      status: 429,
      body: 'local_rate_limited',
      headers: { 'x-local-rate-limit': 'true', 'x-envoy-ratelimited': 'true' },
      flag: 'RL',
      grpcStatus: undefined,
      details: 'local_rate_limited',
    });
    expect([stat('enabled'), stat('ok'), stat('rate_limited'), stat('enforced')]).toEqual([3, 2, 1, 1]);
  });

  it('refills on the engine clock after the fill interval', () => {
    const { send, clock } = setup(config());
    send();
    send();
    expect(send().reply?.status).toBe(429);
    clock.advance(999);
    expect(send().reply?.status).toBe(429);
    clock.advance(1);
    expect(send().reply).toBeUndefined();
    expect(send().reply?.status).toBe(429);
  });

  it('does nothing (no stats) when filter_enabled is unset', () => {
    const { send, stat } = setup(config({ filter_enabled: undefined }));
    for (let i = 0; i < 5; i++) expect(send().reply).toBeUndefined();
    expect(stat('enabled')).toBe(0);
  });

  it('counts but forwards, with request_headers_to_add_when_not_enforced, when not enforced', () => {
    const { send, stat } = setup(
      config({
        filter_enforced: undefined,
        request_headers_to_add_when_not_enforced: [{ header: { key: 'x-local-ratelimited', value: 'true' } }],
      }),
    );
    send();
    expect(send().ctx.headers['x-local-ratelimited']).toBeUndefined();
    const { reply, ctx } = send();
    expect(reply).toBeUndefined();
    expect(ctx.headers['x-local-ratelimited']).toBe('true');
    expect([stat('rate_limited'), stat('enforced')]).toEqual([1, 0]);
  });

  it('draws the enabled and enforced fractions with the injected random', () => {
    const half = { runtime_key: 'h', default_value: { numerator: 50 } };
    // enabled draws 0.7 (skip), 0.1 (check: token), 0.1 (check: token), 0.1 (check: limited) then enforced 0.9 (not enforced)
    const { send, stat } = setup(
      config({ filter_enabled: half, filter_enforced: half }),
      new SequenceRandom([0.7, 0.1, 0.1, 0.1, 0.9]),
    );
    for (let i = 0; i < 4; i++) expect(send().reply).toBeUndefined();
    expect([stat('enabled'), stat('ok'), stat('rate_limited'), stat('enforced')]).toEqual([3, 2, 1, 0]);
  });

  it('uses the per-route config and its own bucket instead of the listener config', () => {
    const { send, stat } = setup(config({ token_bucket: { max_tokens: 100, fill_interval: '1s' } }));
    const route = parsed(
      config({ stat_prefix: 'route_rl', token_bucket: { max_tokens: 1, fill_interval: '1s' }, status: { code: 503 } }),
      true,
    ).cfg;
    const perRoute = { [LOCAL_RATE_LIMIT_NAME]: route };
    expect(send({ perRoute }).reply).toBeUndefined();
    expect(send({ perRoute }).reply).toMatchObject({ status: 503, flag: 'RL' });
    expect(send().reply).toBeUndefined();
    expect(stat('ok')).toBe(1);
  });

  it('answers gRPC callers with RESOURCE_EXHAUSTED when rate_limited_as_resource_exhausted is set', () => {
    const { send } = setup(
      config({ token_bucket: { max_tokens: 1, fill_interval: '1s' }, rate_limited_as_resource_exhausted: true }),
    );
    const grpc = () => ({ ...fakeStream(), isGrpc: true });
    send(grpc());
    expect(send(grpc()).reply?.grpcStatus).toBe(8);
    expect(send().reply?.grpcStatus).toBeUndefined();
  });

  it('keeps one bucket per downstream connection with local_rate_limit_per_downstream_connection', () => {
    const { send } = setup(
      config({
        token_bucket: { max_tokens: 1, fill_interval: '1s' },
        local_rate_limit_per_downstream_connection: true,
      }),
    );
    const a = fakeStream();
    const again = () => ({ ...fakeStream(), connection: a.connection });
    expect(send(a).reply).toBeUndefined();
    expect(send(again()).reply?.status).toBe(429);
    expect(send(fakeStream()).reply).toBeUndefined();
  });
});

describe('local rate limit config through the engine', () => {
  it('rejects a listener and a route configuration with bad local rate limit fields, with their paths', async () => {
    const dp = testEngine();
    try {
      const filter = `- name: envoy.filters.http.local_ratelimit
  typed_config:
    "@type": ${LOCAL_RATE_LIMIT_TYPE_URL}
    stat_prefix: rl
    token_bucket: {max_tokens: 1, fill_interval: 0.010s}`;
      const snap = yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r', [filter])],
        routes: [
          `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c}
    typed_per_filter_config:
      envoy.filters.http.local_ratelimit:
        "@type": ${LOCAL_RATE_LIMIT_TYPE_URL}
        stat_prefix: route_rl`,
        ],
      });
      const listenerErrors = dp.validate('type.googleapis.com/envoy.config.listener.v3.Listener', snap.listeners);
      expect(listenerErrors.join('\n')).toMatch(
        /http_filters\[0\]\.typed_config\.token_bucket\.fill_interval: must be at least 50ms/,
      );
      const routeErrors = dp.validate('type.googleapis.com/envoy.config.route.v3.RouteConfiguration', snap.routes);
      expect(routeErrors.join('\n')).toMatch(
        /routes\[0\]\.typed_per_filter_config\["envoy\.filters\.http\.local_ratelimit"\]\.token_bucket: is required/,
      );
    } finally {
      await dp.stop();
    }
  });
});
