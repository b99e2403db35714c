import { decodeReportRequest, ISTIO_MANIFEST, MutableBag, ReportEncoder } from '@tsmesh/attributes';
import type { FieldError } from '@tsmesh/core';
import { TEMPLATES } from '../templates/templates';
import { compileInstance, KeptValues } from './instances';

const bag = MutableBag.from({ 'request.path': '/p', 'response.code': 503, 'source.uid': 'kubernetes://a' });

function build(variables: Record<string, string>) {
  const errors: FieldError[] = [];
  const ci = compileInstance('log.logentry.ns', TEMPLATES['logentry'], { variables }, ISTIO_MANIFEST, 'p', errors);
  expect(errors).toEqual([]);
  return ci.build(bag).fields['variables'] as Record<string, unknown>;
}

describe('compileInstance map fields', () => {
  it('builds plain objects with the names in config order, whatever the names', () => {
    const names = ['path', 'a"b', "c'd", 'e\\f', 'line\nbreak', '\u2028', '7', 'constructor', 'toString', 'x y', ''];
    const variables = Object.fromEntries(names.map((n, i) => [n, i % 2 ? 'response.code' : 'request.path']));
    const got = build(variables);
    const want: Record<string, unknown> = {};
    names.forEach((n, i) => (want[n] = i % 2 ? 503 : '/p'));
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.keys(got)).toEqual(Object.keys(want));
    expect(JSON.stringify(got)).toBe(JSON.stringify(want));
    expect(got).toStrictEqual(want);
  });

  it('treats a __proto__ name as adding it to {} would (not an own key)', () => {
    const got = build({ __proto__: 'request.path', code: 'response.code' } as Record<string, string>);
    // a literal's __proto__ sets the prototype; the config's map (parsed YAML/JSON) has it as a key
    const variables = JSON.parse('{"__proto__":"request.path","code":"response.code"}') as Record<string, string>;
    const own = build(variables);
    expect(Object.getOwnPropertyDescriptor(own, '__proto__')).toBeUndefined();
    expect(Object.keys(got)).toEqual(['code']);
    expect(own['code']).toBe(503);
  });

  it('gives each bag its own object', () => {
    const errors: FieldError[] = [];
    const ci = compileInstance(
      'log.logentry.ns',
      TEMPLATES['logentry'],
      { variables: { p: 'request.path' } },
      ISTIO_MANIFEST,
      'p',
      errors,
    );
    const a = ci.build(bag).fields['variables'];
    const b = ci.build(MutableBag.from({ 'request.path': '/q' })).fields['variables'];
    expect(a).toEqual({ p: '/p' });
    expect(b).toEqual({ p: '/q' });
    expect(a).not.toBe(b);
  });
});

describe('KeptValues', () => {
  function compiled() {
    const errors: FieldError[] = [];
    const kept = new KeptValues();
    const ci = compileInstance(
      'm.metric.ns',
      TEMPLATES['metric'],
      { value: 'response.size | 0', dimensions: { path: 'request.path', code: 'response.code | 0' } },
      ISTIO_MANIFEST,
      'p',
      errors,
      undefined,
      kept,
    );
    expect(errors).toEqual([]);
    return { ci, kept };
  }
  const entries = () => {
    const enc = new ReportEncoder();
    const base = { 'request.path': '/a', 'response.code': 200, 'response.size': 5, 'request.method': 'GET' };
    enc.add(MutableBag.from(base));
    enc.add(MutableBag.from({ ...base, 'request.method': 'POST' }));
    enc.add(MutableBag.from({ ...base, 'request.method': 'POST', 'response.size': 7 }));
    enc.add(MutableBag.from({ ...base, 'request.method': 'POST', 'response.size': 7, 'request.path': '/b' }));
    return decodeReportRequest(Buffer.from(enc.finish()[0].bytes));
  };

  it('keeps a map along delta entries until an attribute it reads changes', () => {
    const { ci, kept } = compiled();
    const built = entries().map((bag) => {
      kept.begin(bag);
      return ci.build(bag, kept).fields;
    });
    kept.end();
    expect(built.map((f) => [f['value'], f['dimensions']])).toEqual([
      [5, { path: '/a', code: 200 }],
      [5, { path: '/a', code: 200 }],
      [7, { path: '/a', code: 200 }],
      [7, { path: '/b', code: 200 }],
    ]);
    expect(built[1]['dimensions']).toBe(built[0]['dimensions']);
    expect(built[2]['dimensions']).toBe(built[0]['dimensions']);
    expect(built[3]['dimensions']).not.toBe(built[0]['dimensions']);
  });

  it('keeps nothing across batches, for entries out of order, or without begin (Check)', () => {
    const { ci, kept } = compiled();
    const [a, b, c, d] = entries();
    kept.begin(a);
    const first = ci.build(a, kept).fields['dimensions'];
    kept.end();
    kept.begin(b);
    expect(ci.build(b, kept).fields['dimensions']).not.toBe(first);
    kept.begin(d);
    expect(ci.build(d, kept).fields['dimensions']).toEqual({ path: '/b', code: 200 });
    kept.begin(c);
    expect(ci.build(c, kept).fields['dimensions']).toEqual({ path: '/a', code: 200 });
    expect(ci.build(c).fields['dimensions']).not.toBe(ci.build(c).fields['dimensions']);
    // another config's KeptValues: plain evaluation
    expect(ci.build(d, new KeptValues()).fields['dimensions']).toEqual({ path: '/b', code: 200 });
  });
});
