import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isMeshError, randomInt, SeededRandom, type Random } from '@tsmesh/core';
import { parse } from 'yaml';
import { decode, encode, fromJson, MAX_DEPTH, TypeUrl, typeNameOf } from './index';

// Envoy treats config as possibly untrusted: whatever the input, fromJson/decode either succeed
// or throw a coded MeshError naming where the problem is — never a TypeError or a crash.
const fixture = (name: string) => parse(readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8')) as unknown;

const JUNK: unknown[] = [
  null,
  0,
  -1,
  1.5,
  'x',
  '',
  true,
  [],
  {},
  [1, 'a'],
  { '@type': 'type.googleapis.com/nope' },
  '1s',
  4294967296,
];

function mutate(value: unknown, random: Random): unknown {
  if (Array.isArray(value)) {
    if (value.length > 0 && random.next() < 0.7) {
      const i = randomInt(random, value.length);
      const copy = [...value];
      copy[i] = mutate(copy[i], random);
      return copy;
    }
    return JUNK[randomInt(random, JUNK.length)];
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const r = random.next();
    if (keys.length > 0 && r < 0.6) {
      const k = keys[randomInt(random, keys.length)];
      copy[k] = mutate(copy[k], random);
    } else if (keys.length > 0 && r < 0.75) {
      delete copy[keys[randomInt(random, keys.length)]];
    } else {
      copy[`bogus_${randomInt(random, 3)}`] = JUNK[randomInt(random, JUNK.length)];
    }
    return copy;
  }
  return JUNK[randomInt(random, JUNK.length)];
}

describe('mutated config never escapes as an uncoded error', () => {
  it.each([
    [TypeUrl.LISTENER, 'listener-hcm-rds.yaml'],
    [TypeUrl.ROUTE, 'route-weighted-retries.yaml'],
    [TypeUrl.CLUSTER, 'cluster-eds.yaml'],
    [TypeUrl.BOOTSTRAP, 'bootstrap.yaml'],
  ])('%s', (url, file) => {
    const typeName = typeNameOf(url);
    const base = fixture(file);
    const random = new SeededRandom(42);
    let rejected = 0;
    for (let i = 0; i < 150; i++) {
      const input = mutate(mutate(base, random), random);
      try {
        const obj = fromJson(typeName, input);
        expect(decode(typeName, encode(typeName, obj))).toEqual(obj);
      } catch (e) {
        if (!isMeshError(e)) throw e;
        expect(e.code).toBe('PROTOCOL_ERR_INVALID_MESSAGE');
        expect(e.fieldErrors.length).toBeGreaterThan(0);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('random bytes decode or fail with PROTOCOL_ERR_DECODE', () => {
    const random = new SeededRandom(7);
    const valid = encode(
      typeNameOf(TypeUrl.CLUSTER),
      fromJson(typeNameOf(TypeUrl.CLUSTER), fixture('cluster-eds.yaml')),
    );
    let failed = 0;
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(valid);
      for (let j = 0; j < 1 + randomInt(random, 4); j++)
        bytes[randomInt(random, bytes.length)] = randomInt(random, 256);
      const cut = random.next() < 0.3 ? bytes.subarray(0, randomInt(random, bytes.length)) : bytes;
      try {
        decode(typeNameOf(TypeUrl.CLUSTER), cut);
      } catch (e) {
        if (!isMeshError(e)) throw e;
        expect(['PROTOCOL_ERR_DECODE', 'PROTOCOL_ERR_INVALID_MESSAGE']).toContain(e.code);
        failed++;
      }
    }
    expect(failed).toBeGreaterThan(0);
  });

  it('deep nesting is rejected with a path, not a stack overflow', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10000; i++) deep = { k: deep };
    let err: unknown;
    try {
      fromJson(typeNameOf(TypeUrl.CLUSTER), { name: 'c', metadata: { filter_metadata: { x: deep } } });
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err) && err.fieldErrors[0].message).toBe(`nested more than ${MAX_DEPTH} levels deep`);
    expect(isMeshError(err) && err.fieldErrors[0].path.startsWith('metadata.filter_metadata[x].k.k')).toBe(true);
  });

  it('a "__proto__" key in Struct data is kept as data, never as a prototype', () => {
    const input = JSON.parse('{"name":"c","metadata":{"filter_metadata":{"x":{"__proto__":{"polluted":1},"k":2}}}}');
    const obj = fromJson<{ metadata: { filter_metadata: Record<string, Record<string, unknown>> } }>(
      typeNameOf(TypeUrl.CLUSTER),
      input,
    );
    const data = obj.metadata.filter_metadata['x'];
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.keys(data)).toEqual(['__proto__', 'k']);
    const back = decode<typeof obj>(typeNameOf(TypeUrl.CLUSTER), encode(typeNameOf(TypeUrl.CLUSTER), obj));
    expect(Object.keys(back.metadata.filter_metadata['x'])).toEqual(['__proto__', 'k']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
