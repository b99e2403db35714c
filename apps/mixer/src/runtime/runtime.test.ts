import { decodeReportRequest, MutableBag, parseIp, ReportEncoder, type Bag } from '@tsmesh/attributes';
import { FakeClock, GrpcStatus, metricValue } from '@tsmesh/core';
import { BUILTIN_CONFIG_YAML } from '../config/builtin';
import type { AdapterInfo } from './types';
import { REPORT_CHUNK } from './runtime';
import { registerBuiltinAdapters } from '../adapters/registry';
import { fixture, testRuntime, yamlObjects } from './test-support';

const ratingsCall = (version: string, extra: Record<string, string> = {}) =>
  MutableBag.from({
    'destination.namespace': 'default',
    'destination.labels': { app: 'ratings' },
    'source.labels': { app: 'reviews', version },
    'request.headers': extra,
  });

describe('Runtime.check', () => {
  it('denies with the denier status, prefixed by the handler name (per-kind form)', async () => {
    const { runtime } = testRuntime();
    expect(await runtime.apply(fixture('policy-deny.yaml'))).toEqual([]);
    const denied = await runtime.check(ratingsCall('v3'));
    expect(denied.status).toEqual({
      code: GrpcStatus.PERMISSION_DENIED,
      message: 'denyreviewsv3handler.denier.default:Not allowed',
    });
    expect(denied.validDurationMs).toBe(5000);
    const ok = await runtime.check(ratingsCall('v2'));
    expect(ok.status.code).toBe(GrpcStatus.OK);
    expect(ok.references).toEqual(
      expect.arrayContaining([
        { name: 'destination.labels', mapKey: 'app', condition: 'EXACT' },
        { name: 'source.labels', mapKey: 'version', condition: 'EXACT' },
      ]),
    );
  });

  it('does not apply namespace rules to other namespaces', async () => {
    const { runtime } = testRuntime();
    await runtime.apply(fixture('policy-deny.yaml'));
    const bag = ratingsCall('v3').set('destination.namespace', 'prod');
    expect((await runtime.check(bag)).status.code).toBe(GrpcStatus.OK);
  });

  it('whitelists with listchecker', async () => {
    const { runtime } = testRuntime();
    expect(await runtime.apply(fixture('policy-whitelist.yaml'))).toEqual([]);
    expect((await runtime.check(ratingsCall('v1'))).status.code).toBe(GrpcStatus.OK);
    expect((await runtime.check(ratingsCall('v3'))).status).toEqual({
      code: GrpcStatus.NOT_FOUND,
      message: 'whitelist.listchecker.default:v3 is not whitelisted',
    });
  });

  it('accepts the generic handler/instance form', async () => {
    const { runtime } = testRuntime();
    expect(await runtime.apply(fixture('generic-forms.yaml'))).toEqual([]);
    const bag = MutableBag.from({ 'request.path': '/admin/x' });
    expect((await runtime.check(bag)).status.message).toBe('denyall.handler.istio-system:generic says no');
    expect((await runtime.check(MutableBag.from({ 'request.path': '/' }))).status.code).toBe(GrpcStatus.OK);
  });

  it('limits with memquota per window and override, recovering after the window', async () => {
    const clock = new FakeClock();
    const { runtime } = testRuntime({ clock });
    expect(await runtime.apply(fixture('policy-ratelimit.yaml'))).toEqual([]);
    const q = (dedup: string) => new Map([['requestcount', { amount: 1, bestEffort: false, deduplicationId: dedup }]]);
    const reviews = MutableBag.from({ 'destination.labels': { app: 'reviews' } });
    const first = await runtime.check(reviews, q('a'));
    expect(first.quotas.get('requestcount')).toMatchObject({ amount: 1, validDurationMs: 5000 });
    expect((await runtime.check(reviews, q('b'))).quotas.get('requestcount')?.amount).toBe(0);
    // the same deduplication id gets the first answer again
    expect((await runtime.check(reviews, q('a'))).quotas.get('requestcount')?.amount).toBe(1);
    clock.advance(5100);
    expect((await runtime.check(reviews, q('c'))).quotas.get('requestcount')?.amount).toBe(1);
    // other destinations get the default 500/s
    const details = MutableBag.from({ 'destination.labels': { app: 'details' } });
    for (let i = 0; i < 500; i++)
      expect((await runtime.check(details, q(`d${i}`))).quotas.get('requestcount')?.amount).toBe(1);
    expect((await runtime.check(details, q('over'))).quotas.get('requestcount')?.amount).toBe(0);
  });
});

describe('generic config form (kind: handler + compiledAdapter, kind: instance + compiledTemplate)', () => {
  /** The prometheus part of generic-forms-adapters.yaml in the per-kind form. */
  const PROMETHEUS_PER_KIND = `apiVersion: config.istio.io/v1alpha2
kind: prometheus
metadata: { name: handler, namespace: istio-system }
spec:
  metrics:
  - name: generic_requests_total
    instance_name: requests.metric.istio-system
    kind: COUNTER
    label_names: [destination_service, response_code]
  - name: generic_request_duration_seconds
    instance_name: latency.metric.istio-system
    kind: DISTRIBUTION
    label_names: [destination_service]
    buckets: { explicit_buckets: { bounds: [0.01, 0.1, 1] } }
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: requests, namespace: istio-system }
spec:
  value: '1'
  dimensions: { destination_service: destination.service.host | "unknown", response_code: response.code | 200 }
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: latency, namespace: istio-system }
spec:
  value: response.duration | "0ms"
  dimensions: { destination_service: destination.service.host | "unknown" }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: promhttp, namespace: istio-system }
spec:
  match: context.protocol == "http"
  actions:
  - { handler: handler.prometheus, instances: [ requests.metric, latency.metric ] }
`;

  /** What the listchecker, memquota and prometheus handlers answer and record for one sequence of calls. */
  async function transcript(objects: ReturnType<typeof fixture>) {
    const clock = new FakeClock();
    const { runtime, promRegistry } = testRuntime({ clock });
    expect(await runtime.apply(objects)).toEqual([]);
    const whitelist = [];
    for (const version of ['v1', 'v2', 'v3']) whitelist.push((await runtime.check(ratingsCall(version))).status);
    const granted = async (app: string, dedup: string) =>
      (
        await runtime.check(
          MutableBag.from({ 'destination.labels': { app } }),
          new Map([['requestcount', { amount: 1, bestEffort: false, deduplicationId: dedup }]]),
        )
      ).quotas.get('requestcount')?.amount;
    const quota = [await granted('reviews', 'a'), await granted('reviews', 'b'), await granted('reviews', 'a')];
    clock.advance(5100);
    quota.push(await granted('reviews', 'c'));
    let details = 0;
    for (let i = 0; i < 501; i++) details += (await granted('details', `d${i}`)) ?? 0;
    quota.push(details);
    const call = (protocol: string, host: string, code: number, durationMs: number) =>
      MutableBag.from({
        'context.protocol': protocol,
        'destination.service.host': host,
        'response.code': code,
        'response.duration': durationMs,
      });
    await runtime.report([
      call('http', 'reviews.default.svc.cluster.local', 200, 20),
      call('http', 'reviews.default.svc.cluster.local', 200, 200),
      call('http', 'ratings.default.svc.cluster.local', 503, 5),
      call('tcp', 'mongo.default.svc.cluster.local', 200, 5),
    ]);
    return { whitelist, quota, metrics: await promRegistry.metrics() };
  }

  it('runs prometheus, memquota and listchecker as their per-kind forms do', async () => {
    const perKind = await transcript([
      ...fixture('policy-whitelist.yaml'),
      ...fixture('policy-ratelimit.yaml'),
      ...yamlObjects(PROMETHEUS_PER_KIND),
    ]);
    const generic = await transcript(fixture('generic-forms-adapters.yaml'));
    // each adapter is at work in the per-kind run
    expect(perKind.whitelist.map((s) => s.code)).toEqual([GrpcStatus.OK, GrpcStatus.OK, GrpcStatus.NOT_FOUND]);
    expect(perKind.whitelist[2].message).toBe('whitelist.listchecker.default:v3 is not whitelisted');
    expect(perKind.quota).toEqual([1, 0, 1, 1, 500]);
    expect(perKind.metrics).toMatch(
      /istio_generic_requests_total\{destination_service="reviews.default.svc.cluster.local",response_code="200"\} 2\n/,
    );
    expect(perKind.metrics).toMatch(
      /istio_generic_request_duration_seconds_bucket\{le="0.1",destination_service="reviews.default.svc.cluster.local"\} 1\n/,
    );
    expect(perKind.metrics).not.toContain('mongo');
    // the generic run answers and records the same; only the denying handler's name says `handler`
    expect(generic.whitelist[2].message).toBe('whitelist.handler.default:v3 is not whitelisted');
    generic.whitelist[2].message = perKind.whitelist[2].message;
    expect(generic).toEqual(perKind);
  });
});

describe('config handling', () => {
  it('rejects bad objects with field paths and keeps the last good version', async () => {
    const { runtime } = testRuntime();
    await runtime.apply(fixture('policy-deny.yaml'));
    const bad = yamlObjects(`
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: denyreviewsv3
spec:
  match: destination.labels["app"] == 
  actions:
  - handler: denyreviewsv3handler.denier
    instances: [ denyreviewsv3request.checknothing ]
---
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata:
  name: q
spec:
  quotas:
  - name: x
    maxAmount: -1
    validDuration: soon
`);
    const objects = [...fixture('policy-deny.yaml').filter((o) => o.kind !== 'rule'), ...bad];
    const issues = await runtime.apply(objects);
    expect(issues.map((i) => [i.kind, i.errors.map((e) => e.path)])).toEqual([
      ['memquota', ['spec.quotas[0].maxAmount', 'spec.quotas[0].validDuration']],
      ['rule', ['spec.match']],
    ]);
    expect(issues[1].errors[0].message).toMatch(/column 29/);
    // the previous version of the rule still denies
    expect((await runtime.check(ratingsCall('v3'))).status.code).toBe(GrpcStatus.PERMISSION_DENIED);
  });

  it('names missing references and template mismatches', async () => {
    const { runtime } = testRuntime();
    const issues = await runtime.apply(
      yamlObjects(`
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: r, namespace: istio-system }
spec:
  actions:
  - handler: nosuch.denier
    instances: [ a.checknothing ]
---
apiVersion: config.istio.io/v1alpha2
kind: prometheus
metadata: { name: p, namespace: istio-system }
spec: { metrics: [] }
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: { name: c, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: r2, namespace: istio-system }
spec:
  actions:
  - handler: p.prometheus
    instances: [ c.checknothing ]
`),
    );
    expect(issues.flatMap((i) => i.errors.map((e) => `${i.name} ${e.path}: ${e.message}`))).toEqual([
      'r spec.actions[0].handler: handler "nosuch.denier" not found in namespace istio-system',
      'r2 spec.actions[0].instances[0]: adapter prometheus does not accept template checknothing (accepts metric)',
    ]);
  });
});

describe('attribute manifests', () => {
  const custom = () => fixture('custom-attributes.yaml');
  const withoutManifest = () => custom().filter((o) => o.kind !== 'attributemanifest');
  const call = (attr: string, tier?: string) =>
    MutableBag.from({ 'request.method': 'POST', 'my.custom_attr': attr, ...(tier ? { 'my.custom_tier': tier } : {}) });

  it('refuses a rule and an instance that use an attribute no manifest declares, at its field and column', async () => {
    const { runtime } = testRuntime();
    const issues = await runtime.apply(withoutManifest());
    expect(issues.map((i) => [i.kind, i.name, i.errors.map((e) => e.path)])).toEqual([
      ['listentry', 'tier', ['spec.value']],
      ['rule', 'customtier', ['spec.match', 'spec.actions[0].instances[0]']],
    ]);
    expect(issues[0].errors[0].message).toMatch(/column 1: unknown attribute my\.custom_tier/);
    expect(issues[1].errors[0].message).toMatch(/column 29: unknown attribute my\.custom_attr/);
    expect(runtime.current?.rules).toEqual([]);
    expect((await runtime.check(call('x', 'bronze'))).status.code).toBe(GrpcStatus.OK);
  });

  it('accepts them with the manifest, evaluates the custom attributes and references them', async () => {
    const { runtime } = testRuntime();
    expect(await runtime.apply(custom())).toEqual([]);
    expect(runtime.current?.manifest.get('my.custom_tier')).toBe('STRING');
    const denied = await runtime.check(call('x', 'bronze'));
    expect(denied.status).toEqual({
      code: GrpcStatus.NOT_FOUND,
      message: 'tiers.listchecker.istio-system:bronze is not whitelisted',
    });
    expect(denied.references).toEqual(
      expect.arrayContaining([
        { name: 'my.custom_attr', condition: 'EXACT' },
        { name: 'my.custom_tier', condition: 'EXACT' },
      ]),
    );
    expect((await runtime.check(call('x', 'gold'))).status.code).toBe(GrpcStatus.OK);
    expect((await runtime.check(call('x'))).status.message).toBe(
      'tiers.listchecker.istio-system:none is not whitelisted',
    );
    // the match decides: another value of my.custom_attr is not checked
    expect((await runtime.check(call('y', 'bronze'))).status.code).toBe(GrpcStatus.OK);
  });

  it('refuses the dependants when the manifest goes away: their last good versions need it too, so they stop serving', async () => {
    const { runtime } = testRuntime();
    const unrelated = fixture('policy-deny.yaml');
    expect(await runtime.apply([...unrelated, ...custom()])).toEqual([]);
    expect((await runtime.check(call('x', 'bronze'))).status.code).toBe(GrpcStatus.NOT_FOUND);

    const issues = await runtime.apply([...unrelated, ...withoutManifest()]);
    expect(issues.map((i) => [i.kind, i.name, i.errors.map((e) => e.path)])).toEqual([
      ['listentry', 'tier', ['spec.value']],
      ['rule', 'customtier', ['spec.match', 'spec.actions[0].instances[0]']],
    ]);
    expect(runtime.current?.manifest.has('my.custom_attr')).toBe(false);
    expect(runtime.current?.rules.map((r) => r.fqn)).toEqual(['denyreviewsv3.rule.default']);
    expect((await runtime.check(call('x', 'bronze'))).status.code).toBe(GrpcStatus.OK);
    // what does not depend on the manifest keeps serving
    expect((await runtime.check(ratingsCall('v3'))).status.code).toBe(GrpcStatus.PERMISSION_DENIED);

    // and the manifest coming back brings them back
    expect(await runtime.apply([...unrelated, ...custom()])).toEqual([]);
    expect((await runtime.check(call('x', 'bronze'))).status.code).toBe(GrpcStatus.NOT_FOUND);
  });
});

describe('Runtime.check dispatch', () => {
  it('evaluates only rules with check instances: telemetry rules add no references and no match errors', async () => {
    const { runtime, selfRegistry } = testRuntime();
    await runtime.apply([...yamlObjects(BUILTIN_CONFIG_YAML), ...fixture('policy-deny.yaml')]);
    // no context.protocol: promhttp/promtcp's match would fail to evaluate if Check ran it
    const out = await runtime.check(ratingsCall('v2'));
    expect(out.status.code).toBe(GrpcStatus.OK);
    expect(out.references.map((r) => r.name)).not.toContain('context.protocol');
    expect(out.references).toEqual([
      { name: 'destination.namespace', condition: 'EXACT' },
      { name: 'destination.labels', mapKey: 'app', condition: 'EXACT' },
      { name: 'source.labels', mapKey: 'app', condition: 'EXACT' },
      { name: 'source.labels', mapKey: 'version', condition: 'EXACT' },
    ]);
    expect(await metricValue(selfRegistry, 'mixer_rule_match_errors_total')).toBe(0);
  });

  it('keeps config order for the first denial when adapters answer synchronously and asynchronously', async () => {
    const adapters = new Map<string, AdapterInfo>(registerBuiltinAdapters());
    const denier = adapters.get('denier') as AdapterInfo;
    // the same denier, answering through a promise that settles later
    adapters.set('denier', {
      ...denier,
      async build(params, env) {
        const h = await denier.build(params, env);
        if (!env.handlerName.startsWith('slow')) return h;
        return {
          handleCheck: async (i) => {
            await new Promise((r) => setTimeout(r, 5));
            return (h.handleCheck as NonNullable<typeof h.handleCheck>)(i);
          },
        };
      },
    });
    const { runtime } = testRuntime({ adapters });
    expect(
      await runtime.apply(
        yamlObjects(`
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: { name: slow, namespace: istio-system }
spec: { status: { code: 7, message: first }, validDuration: 2s }
---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: { name: fast, namespace: istio-system }
spec: { status: { code: 9, message: second }, validDuration: 1s }
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: { name: c, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: both, namespace: istio-system }
spec:
  actions:
  - { handler: slow.denier, instances: [ c.checknothing ] }
  - { handler: fast.denier, instances: [ c.checknothing ] }
`),
      ),
    ).toEqual([]);
    const out = await runtime.check(MutableBag.from({ 'request.path': '/' }));
    expect(out.status).toEqual({ code: 7, message: 'slow.denier.istio-system:first' });
    expect(out.validDurationMs).toBe(1000);
  });
});

describe('Runtime.report', () => {
  it('feeds the builtin Istio metrics into the prometheus registry', async () => {
    const { runtime, promRegistry } = testRuntime();
    const { BUILTIN_CONFIG_YAML } = await import('../config/builtin');
    expect(await runtime.apply(yamlObjects(BUILTIN_CONFIG_YAML, 'builtin'))).toEqual([]);
    const bag = MutableBag.from({
      'context.protocol': 'http',
      'context.reporter.kind': 'inbound',
      'destination.service.host': 'reviews.default.svc.cluster.local',
      'response.code': 200,
      'response.duration': 20,
      'request.size': 100,
      'connection.mtls': true,
    });
    await runtime.report([bag, bag]);
    expect(
      await metricValue(promRegistry, 'istio_requests_total', {
        destination_service: 'reviews.default.svc.cluster.local',
        reporter: 'destination',
        response_code: '200',
        connection_security_policy: 'mutual_tls',
        source_workload: 'unknown',
      }),
    ).toBe(2);
    const text = await promRegistry.metrics();
    expect(text).toMatch(/istio_request_duration_seconds_bucket\{le="0.025",.*\} 2/);
    expect(text).toMatch(/istio_request_bytes_bucket\{le="100",.*\} 2/);
  });
});

describe('Runtime.report shared fields', () => {
  it('evaluates a map written alike in several instances once per bag, and never across bags', async () => {
    const seen: Array<{ name: string; dims: unknown }> = [];
    const adapters = new Map<string, AdapterInfo>(registerBuiltinAdapters());
    adapters.set('capture', {
      name: 'capture',
      templates: ['metric'],
      validate: () => [],
      build: () => ({
        handleReport: (insts) => void seen.push(...insts.map((i) => ({ name: i.name, dims: i.fields['dimensions'] }))),
      }),
    });
    const { runtime } = testRuntime({ adapters });
    const metric = (name: string, dims: string) => `apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: ${name}, namespace: istio-system }
spec:
  value: '1'
  dimensions: { ${dims} }
---
`;
    expect(
      await runtime.apply(
        yamlObjects(`${metric('a', 'path: request.path, code: response.code | 0')}${metric('b', 'path: request.path, code: response.code | 0')}${metric('c', 'path: request.path')}apiVersion: config.istio.io/v1alpha2
kind: capture
metadata: { name: h, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: r, namespace: istio-system }
spec:
  actions:
  - { handler: h.capture, instances: [ a.metric, b.metric, c.metric ] }
`),
      ),
    ).toEqual([]);
    await runtime.report([
      MutableBag.from({ 'request.path': '/x', 'response.code': 200 }),
      MutableBag.from({ 'request.path': '/y' }),
    ]);
    expect(seen.map((s) => [s.name.split('.')[0], s.dims])).toEqual([
      ['a', { path: '/x', code: 200 }],
      ['b', { path: '/x', code: 200 }],
      ['c', { path: '/x' }],
      ['a', { path: '/y', code: 0 }],
      ['b', { path: '/y', code: 0 }],
      ['c', { path: '/y' }],
    ]);
    // the same object for a and b of one bag; a fresh one for the next bag
    expect(seen[0].dims).toBe(seen[1].dims);
    expect(seen[3].dims).toBe(seen[4].dims);
    expect(seen[0].dims).not.toBe(seen[3].dims);
  });
});

describe('builtin access log', () => {
  it('loads cleanly and writes one JSON line per reported HTTP request', async () => {
    const { runtime } = testRuntime();
    const { BUILTIN_CONFIG_YAML } = await import('../config/builtin');
    const { BUILTIN_ACCESS_LOG_YAML } = await import('../config/builtin-accesslog');
    const issues = await runtime.apply([
      ...yamlObjects(BUILTIN_CONFIG_YAML, 'builtin'),
      ...yamlObjects(BUILTIN_ACCESS_LOG_YAML, 'accesslog'),
    ]);
    expect(issues).toEqual([]);
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await runtime.report([
        MutableBag.from({
          'context.protocol': 'http',
          'request.path': '/productpage',
          'request.method': 'GET',
          'request.time': new Date('2018-07-31T10:00:00Z'),
          'response.code': 200,
          'response.duration': 20,
          'destination.service.host': 'productpage.default.svc.cluster.local',
        }),
      ]);
    } finally {
      spy.mockRestore();
    }
    const entry = JSON.parse(lines.find((l) => l.includes('accesslog.logentry')) as string);
    expect(entry).toMatchObject({
      level: 'info',
      time: '2018-07-31T10:00:00.000Z',
      url: '/productpage',
      method: 'GET',
      responseCode: 200,
      latency: '20ms',
      destinationServiceHost: 'productpage.default.svc.cluster.local',
      sourceIp: '0.0.0.0',
      reporter: 'destination',
    });
  });
});

describe('Runtime.report along delta-encoded entries (values kept while their attributes do not change)', () => {
  /** Requests of one sidecar batch, most attributes repeating, some changing now and then. */
  function batch(n: number): Buffer[] {
    const enc = new ReportEncoder();
    for (let i = 0; i < n; i++) {
      const bag = MutableBag.from({
        'context.protocol': i % 17 === 5 ? 'grpc' : 'http',
        'context.reporter.kind': i % 23 < 3 ? 'outbound' : 'inbound',
        'source.ip': parseIp(i % 11 === 0 ? '10.0.0.9' : '10.0.0.1') as Uint8Array,
        'source.labels': { app: 'productpage', version: i % 13 === 0 ? 'v2' : 'v1' },
        'source.workload.name': 'productpage-v1',
        'destination.service.host':
          i % 7 === 3 ? 'ratings.default.svc.cluster.local' : 'reviews.default.svc.cluster.local',
        'destination.namespace': 'default',
        'request.path': i % 5 === 0 ? '/health' : '/reviews/0',
        'request.method': 'GET',
        'request.headers': { ':authority': 'reviews:9080', 'x-request-id': `id-${i}` },
        'request.time': new Date(Date.UTC(2018, 6, 31, 10, 0, 0, i * 3)),
        'response.code': i % 9 === 4 ? 503 : 200,
        'response.duration': 1 + (i % 4),
        'request.size': 0,
        'response.size': i % 6 === 0 ? 4000 : 12,
        'connection.mtls': i % 19 < 10,
      });
      // some entries with one more attribute: another name sequence, so another request
      if (i % 10 === 9) bag.set('request.useragent', 'curl/8');
      enc.add(bag);
    }
    return enc.finish().map((r) => Buffer.from(r.bytes));
  }

  async function run(report: (runtime: ReturnType<typeof testRuntime>['runtime'], bags: Bag[]) => Promise<void>) {
    const { runtime, promRegistry } = testRuntime();
    const { BUILTIN_ACCESS_LOG_YAML } = await import('../config/builtin-accesslog');
    expect(
      await runtime.apply([
        ...yamlObjects(BUILTIN_CONFIG_YAML, 'builtin'),
        ...yamlObjects(BUILTIN_ACCESS_LOG_YAML, 'accesslog'),
      ]),
    ).toEqual([]);
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      // twice over, so the second pass starts with values kept from the first one's last entry
      for (let pass = 0; pass < 2; pass++)
        for (const req of batch(120)) await report(runtime, decodeReportRequest(req));
    } finally {
      spy.mockRestore();
    }
    return { log: out.join(''), metrics: await promRegistry.metrics() };
  }

  it('writes the same access log lines and metrics as reporting each entry on its own', async () => {
    const whole = await run((rt, bags) => rt.report(bags));
    const one = await run(async (rt, bags) => {
      for (const b of bags) await rt.report([b]);
    });
    expect(whole.log.split('\n').length).toBe(2 * 120 + 1);
    expect(whole.log).toContain('"sourceIp":"10.0.0.9"');
    expect(whole.metrics).toContain('response_code="503"');
    expect(whole.log).toBe(one.log);
    expect(whole.metrics).toBe(one.metrics);
  });
});

describe('Runtime.report rule matches along delta-encoded entries', () => {
  it('re-evaluates a match when an attribute it reads changes, and counts its failures per entry', async () => {
    const seen: string[] = [];
    const adapters = new Map<string, AdapterInfo>(registerBuiltinAdapters());
    adapters.set('capture', {
      name: 'capture',
      templates: ['metric'],
      validate: () => [],
      build: () => ({
        handleReport: (insts) => void seen.push(...insts.map((i) => `${i.name.split('.')[0]}:${i.fields['value']}`)),
      }),
    });
    const config = `apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: m, namespace: istio-system }
spec:
  value: request.path
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: n, namespace: istio-system }
spec:
  value: request.path
---
apiVersion: config.istio.io/v1alpha2
kind: capture
metadata: { name: h, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: tcp, namespace: istio-system }
spec:
  match: context.protocol == "tcp"
  actions:
  - { handler: h.capture, instances: [ m.metric ] }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: strict, namespace: istio-system }
spec:
  match: request.method == "GET"
  actions:
  - { handler: h.capture, instances: [ n.metric ] }
`;
    // one name sequence, so one delta-encoded request: context.protocol and request.method change
    // now and then, so each rule's kept match must be dropped exactly then
    const entry = (i: number) =>
      MutableBag.from({
        'context.protocol': i % 4 < 2 ? 'http' : 'tcp',
        'request.path': `/p${i}`,
        'request.method': i % 3 === 0 ? 'GET' : 'POST',
        'source.ip': parseIp('10.0.0.1') as Uint8Array,
      });
    const run = async (each: boolean) => {
      seen.length = 0;
      const { runtime, selfRegistry } = testRuntime({ adapters });
      expect(await runtime.apply(yamlObjects(config))).toEqual([]);
      const enc = new ReportEncoder();
      for (let i = 0; i < 12; i++) enc.add(entry(i));
      // and entries where `strict`'s match cannot be evaluated (no request.method)
      for (let i = 0; i < 3; i++) enc.add(MutableBag.from({ 'context.protocol': 'tcp', 'request.path': `/x${i}` }));
      for (const r of enc.finish()) {
        const bags = decodeReportRequest(Buffer.from(r.bytes));
        if (each) for (const b of bags) await runtime.report([b]);
        else await runtime.report(bags);
      }
      return {
        seen: [...seen],
        errors: await metricValue(selfRegistry, 'mixer_rule_match_errors_total', { rule: 'strict.rule.istio-system' }),
      };
    };
    const whole = await run(false);
    expect(whole.seen).toEqual([
      'n:/p0',
      'm:/p2',
      'm:/p3',
      'n:/p3',
      'm:/p6',
      'n:/p6',
      'm:/p7',
      'n:/p9',
      'm:/p10',
      'm:/p11',
      'm:/x0',
      'm:/x1',
      'm:/x2',
    ]);
    expect(whole.errors).toBe(3);
    expect(await run(true)).toEqual(whole);
  });
});

describe('Runtime.report in chunks', () => {
  it('hands a long batch to each handler in entry order, REPORT_CHUNK entries per call, and waits for them all', async () => {
    const calls: string[][] = [];
    let pending = 0;
    const adapters = new Map<string, AdapterInfo>(registerBuiltinAdapters());
    adapters.set('capture', {
      name: 'capture',
      templates: ['metric'],
      validate: () => [],
      build: () => ({
        handleReport: async (insts) => {
          calls.push(insts.map((i) => String(i.fields['value'])));
          pending++;
          await new Promise((r) => setTimeout(r, 1));
          pending--;
        },
      }),
    });
    const { runtime } = testRuntime({ adapters });
    expect(
      await runtime.apply(
        yamlObjects(`apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: m, namespace: istio-system }
spec:
  value: request.path
---
apiVersion: config.istio.io/v1alpha2
kind: capture
metadata: { name: h, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: r, namespace: istio-system }
spec:
  actions:
  - { handler: h.capture, instances: [ m.metric ] }
`),
      ),
    ).toEqual([]);
    const n = 2 * REPORT_CHUNK + 7;
    await runtime.report(Array.from({ length: n }, (_, i) => MutableBag.from({ 'request.path': `/${i}` })));
    expect(pending).toBe(0);
    expect(calls.map((c) => c.length)).toEqual([REPORT_CHUNK, REPORT_CHUNK, 7]);
    expect(calls.flat()).toEqual(Array.from({ length: n }, (_, i) => `/${i}`));
  });
});
