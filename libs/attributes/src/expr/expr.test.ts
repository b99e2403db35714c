import { MutableBag, TrackingBag, parseIp } from '../bag';
import { compileExpression, checkExpression, EvalError } from './compiler';
import { parse } from './parser';
import { extendManifest, ISTIO_MANIFEST } from '../manifest';
import { isMeshError } from '@tsmesh/core';

const bag = () =>
  MutableBag.from({
    'request.path': '/api/v1/books',
    'request.method': 'GET',
    'request.headers': { 'x-user': 'jason', cookie: 'user=jason' },
    'source.labels': { app: 'reviews', version: 'v3' },
    'destination.labels': { app: 'ratings' },
    'destination.service.host': 'ratings.default.svc.cluster.local',
    'source.ip': parseIp('10.1.2.3') as Uint8Array,
    'response.code': 503,
    'response.duration': 250,
    'context.reporter.kind': 'outbound',
    'connection.mtls': true,
    'request.time': new Date('2018-07-31T10:00:00Z'),
  });

function errorOf(fn: () => unknown): { code: string; column: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    if (!isMeshError(e)) throw e;
    return { code: e.code, column: e.params['column'], message: e.message };
  }
  throw new Error('expected an error');
}

describe('parser', () => {
  it('joins dotted names into one attribute and splits off methods', () => {
    expect(parse('destination.service.host')).toMatchObject({ kind: 'attr', name: 'destination.service.host' });
    expect(parse('request.path.startsWith("/api")')).toMatchObject({
      kind: 'call',
      fn: 'startsWith',
      target: { kind: 'attr', name: 'request.path' },
    });
  });

  it('gives | tighter binding than == and && tighter than ||', () => {
    expect(parse('a | b == c')).toMatchObject({ kind: 'binary', op: '==', left: { op: '|' } });
    expect(parse('a || b && c')).toMatchObject({ op: '||', right: { op: '&&' } });
  });

  it('reports the column of a syntax error', () => {
    expect(errorOf(() => parse('request.path == '))).toMatchObject({ code: 'ATTRIBUTES_ERR_SYNTAX', column: 17 });
    expect(errorOf(() => parse('a == "x'))).toMatchObject({ column: 6 });
    expect(errorOf(() => parse('a @ b'))).toMatchObject({ column: 3 });
    expect(errorOf(() => parse('match(a, b'))).toMatchObject({ column: 11 });
  });
});

describe('type checker', () => {
  it('rejects unknown attributes at their column', () => {
    const e = errorOf(() => compileExpression('request.path == "/" && source.nme == "x"'));
    expect(e).toMatchObject({ code: 'ATTRIBUTES_ERR_UNKNOWN_ATTRIBUTE', column: 24 });
    expect(e.message).toContain('source.nme');
  });

  it('rejects mismatched types', () => {
    expect(errorOf(() => compileExpression('response.code == "x"'))).toMatchObject({
      code: 'ATTRIBUTES_ERR_TYPE',
      column: 15,
    });
    expect(errorOf(() => compileExpression('request.size | "x"'))).toMatchObject({
      code: 'ATTRIBUTES_ERR_TYPE',
      column: 16,
    });
    expect(errorOf(() => compileExpression('match(response.code, "x*")')).code).toBe('ATTRIBUTES_ERR_TYPE');
    expect(errorOf(() => compileExpression('request.path', { expect: 'BOOL' })).code).toBe('ATTRIBUTES_ERR_TYPE');
    expect(errorOf(() => compileExpression('nosuch(request.path)')).message).toContain('unknown function nosuch');
    expect(errorOf(() => compileExpression('ip("not-an-ip")')).message).toContain('IP_ADDRESS');
  });

  it('accepts the 1.0 default config expressions', () => {
    for (const [text, type] of [
      ['response.duration | "0ms"', 'DURATION'],
      ['request.size | 0', 'INT64'],
      ['conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")', 'STRING'],
      ['context.protocol == "http" || context.protocol == "grpc"', 'BOOL'],
      ['api.protocol | context.protocol | "unknown"', 'STRING'],
      ['request.headers["x-user"] | ""', 'STRING'],
      ['source.labels | emptyStringMap()', 'STRING_MAP'],
      ['1', 'INT64'],
    ] as const) {
      expect(compileExpression(text).type).toBe(type);
    }
  });

  it('takes types from extra attributemanifests', () => {
    const m = extendManifest(ISTIO_MANIFEST, { 'custom.score': 'DOUBLE' });
    expect(checkExpression('custom.score == 1.5')).not.toBeNull();
    expect(checkExpression('custom.score == 1.5', { manifest: m })).toBeNull();
  });
});

describe('evaluator', () => {
  const cases: Array<[string, unknown]> = [
    ['request.path == "/api/v1/books"', true],
    ['request.path != "/api/v1/books"', false],
    ['!(request.method == "POST")', true],
    ['request.headers["x-user"] == "jason"', true],
    ['request.headers["x-none"] | "anon"', 'anon'],
    ['source.labels["version"] == "v3" && destination.labels["app"] == "ratings"', true],
    ['match(request.path, "/api/*")', true],
    ['match(request.path, "*books")', true],
    ['match(request.path, "/api")', false],
    ['request.path.startsWith("/api")', true],
    ['request.path.endsWith("/books")', true],
    ['"^/api/v[0-9]+/".matches(request.path)', true],
    ['"^/v2".matches(request.path)', false],
    ['source.ip == ip("10.1.2.3")', true],
    ['ip_equal(source.ip, ip("10.1.2.4"))', false],
    ['request.time == timestamp("2018-07-31T10:00:00Z")', true],
    ['dnsName("Ratings.default.svc.cluster.local.") == dnsName(destination.service.host)', true],
    ['email("Jason@Example.com") == email("Jason@example.COM")', true],
    ['uri("http://a/b") == uri("http://a/b")', true],
    ['conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")', 'source'],
    ['response.duration | "0ms"', 250],
    ['request.size | 0', 0],
    ['toLower(request.method)', 'get'],
    ['size(request.path)', 13],
    ['connection.mtls || false', true],
    ['api.protocol | context.protocol | "unknown"', 'unknown'],
    ['request.auth.claims | emptyStringMap()', {}],
  ];
  it.each(cases)('%s', (text, want) => {
    expect(compileExpression(text).evaluate(bag())).toEqual(want);
  });

  it('fails with EvalError when an attribute is missing and no default is given', () => {
    const e = compileExpression('request.headers["x-none"] == "a"');
    expect(() => e.evaluate(bag())).toThrow(EvalError);
    expect(() => compileExpression('request.size == 3').evaluate(bag())).toThrow(/request.size/);
  });

  it('records referenced attributes, absent ones and map keys', () => {
    const t = new TrackingBag(bag());
    compileExpression('request.headers["x-user"] == "jason" && (request.api_key | "") == ""').evaluate(t);
    expect(t.references()).toEqual(
      expect.arrayContaining([
        { name: 'request.headers', mapKey: 'x-user', condition: 'EXACT' },
        { name: 'request.api_key', condition: 'ABSENCE' },
      ]),
    );
  });
});
