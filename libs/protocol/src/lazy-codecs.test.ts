import * as protobuf from 'protobufjs';
import { decode, encode, envoyRoot, lookupType, packAny, unpackAny } from './index';

/** Whether the type holds its protobufjs-generated `<Type>$<name>` function as `name`. */
const generated = (t: object, name: string) =>
  Object.prototype.hasOwnProperty.call(t, name) &&
  String((t as Record<string, unknown>)[name]).startsWith(`function ${(t as { name: string }).name}$${name}(`);

describe('codec functions generated per function', () => {
  it('decoding a type generates its decode and toObject, not its encode, verify or fromObject', () => {
    const bytes = encode('envoy.config.core.v3.SocketAddress', { address: '127.0.0.1', port_value: 8080 });
    // A type reached only by decoding from here on.
    const t = lookupType('envoy.config.core.v3.TcpKeepalive');
    const kaBytes = Buffer.from([0x0a, 0x02, 0x08, 0x03]); // keepalive_probes { value: 3 }
    expect(decode('envoy.config.core.v3.TcpKeepalive', kaBytes)).toEqual({ keepalive_probes: { value: 3 } });
    expect(generated(t, 'decode')).toBe(true);
    expect(generated(t, 'toObject')).toBe(true);
    for (const name of ['encode', 'verify', 'fromObject']) expect(generated(t, name)).toBe(false);
    expect(decode('envoy.config.core.v3.SocketAddress', bytes)).toMatchObject({
      address: '127.0.0.1',
      port_value: 8080,
    });
  });

  it('every function still works after another one was generated (round trip, verify, Any)', () => {
    const t = lookupType('envoy.config.core.v3.HttpProtocolOptions');
    const msg = t.fromObject({ max_headers_count: { value: 50 } });
    expect(t.verify(msg)).toBeNull();
    const back = t.toObject(t.decode(t.encode(msg).finish()));
    expect(back).toEqual({ max_headers_count: { value: 50 } });
    const any = packAny('envoy.config.core.v3.HttpProtocolOptions', { max_headers_count: { value: 50 } });
    expect(unpackAny(any)).toMatchObject({ max_headers_count: { value: 50 } });
  });
});

describe('message constructors made on first use', () => {
  type Internal = { _ctor: unknown };
  const SRC = `syntax = "proto3"; package t;
    message M {
      oneof kind { string a = 1; int32 b = 2; }
      repeated string r = 3; map<string, int32> m = 4; E e = 5; int64 n = 6; bytes y = 7; optional uint32 o = 8;
      enum E { X = 0; Y = 1; }
    }`;

  it('resolving a root makes no constructor; the first use makes one with the defaults stock protobufjs puts on it', () => {
    const root = protobuf.parse(SRC, { keepCase: true }).root;
    root.resolveAll();
    const t = root.lookupType('t.M');
    expect((t as unknown as Internal)._ctor).toBeNull();
    const proto = t.ctor.prototype as Record<string, unknown>;
    // The same own properties, in the same order, as protobufjs gives the prototype while resolving.
    expect(Reflect.ownKeys(proto)).toEqual([
      'constructor',
      '$type',
      'a',
      'b',
      'r',
      'm',
      'e',
      'n',
      'y',
      'o',
      'kind',
      '_o',
    ]);
    expect(proto['a']).toBe('');
    expect(proto['b']).toBe(0);
    expect(proto['r']).toEqual([]);
    expect(proto['m']).toEqual({});
    expect(proto['e']).toBe(0);
    expect(String(proto['n'])).toBe('0');
    expect(proto['o']).toBeNull();
    expect(proto['$type']).toBe(t);
    const msg = t.decode(t.encode({ b: 3 }).finish()) as unknown as Record<string, unknown>;
    expect(msg).toBeInstanceOf(t.ctor);
    expect(msg['kind']).toBe('b');
    expect(msg['a']).toBe('');
    expect(t.toObject(msg as unknown as protobuf.Message, { defaults: true })).toMatchObject({
      b: 3,
      e: 0,
      r: [],
      m: {},
    });
  });

  it("every type of the Envoy root gets its fields' defaults when its constructor is made", () => {
    const root = envoyRoot();
    const types: protobuf.Type[] = [];
    const visit = (ns: protobuf.NamespaceBase) => {
      for (const n of ns.nestedArray) {
        if (n instanceof protobuf.Type) types.push(n);
        if (n instanceof protobuf.Namespace) visit(n);
      }
    };
    visit(root);
    expect(types.length).toBeGreaterThan(500);
    // Only types something used so far have one.
    expect(types.filter((t) => (t as unknown as Internal)._ctor !== null).length).toBeLessThan(types.length / 2);
    for (const t of types) {
      const proto = t.ctor.prototype as Record<string, unknown>;
      for (const f of t.fieldsArray) {
        expect(Object.prototype.hasOwnProperty.call(proto, f.name)).toBe(true);
        expect(proto[f.name]).toBe(f.defaultValue);
      }
    }
  });
});
