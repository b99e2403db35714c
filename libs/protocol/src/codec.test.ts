import { isMeshError } from '@tsmesh/core';
import {
  decode,
  durationToMs,
  encode,
  fromJson,
  msToDuration,
  packAny,
  toJson,
  TypeUrl,
  typeNameOf,
  unpackAny,
  validateMessage,
  wrapperValue,
  type Secret,
} from './index';

describe('Any pack/unpack', () => {
  it('packs an object-form message into the wire Any and back', () => {
    const cluster = { name: 'outbound|9080||reviews.default.svc.cluster.local', connect_timeout: { seconds: 1 } };
    const any = packAny(TypeUrl.CLUSTER, cluster);
    expect(any.type_url).toBe(TypeUrl.CLUSTER);
    expect(Buffer.isBuffer(any.value)).toBe(true);
    const back = unpackAny<Record<string, unknown>>(any);
    expect(back['@type']).toBe(TypeUrl.CLUSTER);
    expect(back['name']).toBe(cluster.name);
    expect(back['connect_timeout']).toEqual({ seconds: 1 });
    // already expanded input is returned unchanged
    expect(unpackAny(back)).toBe(back);
    // an unpacked resource is valid input for its own type, and prints with its "@type"
    expect(validateMessage(typeNameOf(TypeUrl.CLUSTER), back)).toEqual([]);
    expect(toJson(TypeUrl.CLUSTER, back)).toEqual({
      '@type': TypeUrl.CLUSTER,
      name: cluster.name,
      connect_timeout: '1s',
    });
    expect(validateMessage(typeNameOf(TypeUrl.LISTENER), back)).toContainEqual({
      path: '@type',
      message: `expected ${TypeUrl.LISTENER}, got "${TypeUrl.CLUSTER}"`,
    });
  });

  it('expands nested Any fields of a DiscoveryResponse when decoding', () => {
    const listener = fromJson(typeNameOf(TypeUrl.LISTENER), {
      name: 'l',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: { '@type': TypeUrl.TCP_PROXY, stat_prefix: 'tcp', cluster: 'c' },
            },
          ],
        },
      ],
    });
    const bytes = encode('envoy.service.discovery.v3.DiscoveryResponse', {
      version_info: '1',
      type_url: TypeUrl.LISTENER,
      nonce: 'n1',
      resources: [packAny(TypeUrl.LISTENER, listener)],
    });
    const resp = decode<{ resources: Array<Record<string, unknown>> }>(
      'envoy.service.discovery.v3.DiscoveryResponse',
      bytes,
    );
    expect(resp.resources[0]).toEqual({ '@type': TypeUrl.LISTENER, ...listener });
  });

  it('encode accepts already-packed Any fields and rejects unknown type URLs with the path', () => {
    const bytes = encode('envoy.service.discovery.v3.DiscoveryResponse', {
      resources: [packAny(TypeUrl.CLUSTER, { name: 'c' })],
    });
    expect(decode<{ resources: unknown[] }>('envoy.service.discovery.v3.DiscoveryResponse', bytes).resources).toEqual([
      expect.objectContaining({ '@type': TypeUrl.CLUSTER, name: 'c' }),
    ]);
    let err: unknown;
    try {
      encode('envoy.service.discovery.v3.DiscoveryResponse', { resources: [{ '@type': 'type.googleapis.com/x.Y' }] });
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err) && err.fieldErrors[0]).toEqual({
      path: 'resources[0].@type',
      message: 'unknown type type.googleapis.com/x.Y',
    });
  });

  it('decode of garbage bytes is a coded error', () => {
    let err: unknown;
    try {
      decode(typeNameOf(TypeUrl.CLUSTER), Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err) && err.code).toBe('PROTOCOL_ERR_DECODE');
  });
});

describe('well-known type helpers', () => {
  it('converts durations and wrappers', () => {
    expect(durationToMs({ seconds: 1, nanos: 500000000 })).toBe(1500);
    expect(durationToMs({ seconds: '2' })).toBe(2000);
    expect(durationToMs(undefined)).toBeUndefined();
    expect(durationToMs(undefined, 15000)).toBe(15000);
    expect(msToDuration(1500)).toEqual({ seconds: 1, nanos: 500000000 });
    expect(msToDuration(250)).toEqual({ nanos: 250000000 });
    expect(msToDuration(0)).toEqual({});
    expect(wrapperValue({ value: 3 }, 1)).toBe(3);
    expect(wrapperValue(undefined, 1)).toBe(1);
    expect(wrapperValue({ value: false }, true)).toBe(false);
  });

  it('converts timestamps, field masks, bytes and Any holding a well-known type', () => {
    const obj = fromJson<Record<string, unknown>>('envoy.admin.v3.UpdateFailureState', {
      failed_configuration: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' },
      last_update_attempt: '2026-11-23T07:00:00.250Z',
      details: 'bad',
    });
    expect(obj['last_update_attempt']).toEqual({ seconds: 1795417200, nanos: 250000000 });
    expect(obj['failed_configuration']).toEqual({
      '@type': 'type.googleapis.com/google.protobuf.Duration',
      seconds: 1,
      nanos: 500000000,
    });
    const back = decode('envoy.admin.v3.UpdateFailureState', encode('envoy.admin.v3.UpdateFailureState', obj));
    expect(back).toEqual(obj);
    expect(toJson('envoy.admin.v3.UpdateFailureState', back)).toEqual({
      failed_configuration: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' },
      last_update_attempt: '2026-11-23T07:00:00.250Z',
      details: 'bad',
    });
    const secret = fromJson<Secret>(typeNameOf(TypeUrl.SECRET), {
      name: 'default',
      tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('PEM').toString('base64') } },
    });
    expect(secret.tls_certificate?.certificate_chain?.inline_bytes).toEqual(Buffer.from('PEM'));
    expect(toJson(typeNameOf(TypeUrl.SECRET), secret)).toEqual({
      name: 'default',
      tls_certificate: { certificate_chain: { inline_bytes: 'UEVN' } },
    });
  });
});

describe('validateMessage', () => {
  it('checks decoded object-form messages with the same rules as fromJson', () => {
    const errors = validateMessage(typeNameOf(TypeUrl.LISTENER), {
      name: 'l',
      filter_chains: [{ filters: [{ name: 'x', typed_config: { '@type': TypeUrl.HTTP_CONNECTION_MANAGER } }] }],
    });
    expect(errors).toContainEqual({
      path: 'filter_chains[0].filters[0].typed_config.stat_prefix',
      message: 'is required (must not be empty)',
    });
    expect(validateMessage(typeNameOf(TypeUrl.CLUSTER), { name: 'ok', connect_timeout: { seconds: 1 } })).toEqual([]);
  });
});

describe('admin types', () => {
  it('a /config_dump document converts to Envoy-style JSON', () => {
    const listener = { name: 'virtualInbound', address: { socket_address: { address: '0.0.0.0', port_value: 15006 } } };
    const dump = {
      configs: [
        {
          '@type': TypeUrl.LISTENERS_CONFIG_DUMP,
          version_info: '2026-11-23T07:00:00Z/3',
          dynamic_listeners: [
            {
              name: 'virtualInbound',
              active_state: {
                version_info: '2026-11-23T07:00:00Z/3',
                listener: { '@type': TypeUrl.LISTENER, ...listener },
                last_updated: { seconds: 1795417200 },
              },
            },
          ],
        },
      ],
    };
    type DumpJson = {
      configs: Array<{ '@type': string; dynamic_listeners: Array<{ active_state: Record<string, unknown> }> }>;
    };
    const json = toJson(typeNameOf(TypeUrl.CONFIG_DUMP), dump) as DumpJson;
    expect(json.configs[0]['@type']).toBe(TypeUrl.LISTENERS_CONFIG_DUMP);
    const active = json.configs[0].dynamic_listeners[0].active_state;
    expect(active['listener']).toEqual({ '@type': TypeUrl.LISTENER, ...listener });
    expect(active['last_updated']).toBe('2026-11-23T07:00:00Z');
    const back = fromJson(typeNameOf(TypeUrl.CONFIG_DUMP), json);
    expect(
      toJson(
        typeNameOf(TypeUrl.CONFIG_DUMP),
        decode(typeNameOf(TypeUrl.CONFIG_DUMP), encode(typeNameOf(TypeUrl.CONFIG_DUMP), back)),
      ),
    ).toEqual(json);
  });
});

describe('validateMessage on object form', () => {
  it('accepts what decode gives and catches typos that encode would drop', () => {
    const cluster = decode(
      typeNameOf(TypeUrl.CLUSTER),
      encode(typeNameOf(TypeUrl.CLUSTER), {
        name: 'c',
        connect_timeout: { seconds: 1, nanos: 5 },
        metadata: { filter_metadata: { istio: { a: [1, { b: null }] } } },
        per_connection_buffer_limit_bytes: { value: 32768 },
        transport_socket: { name: 'tls', typed_config: { '@type': TypeUrl.UPSTREAM_TLS_CONTEXT, sni: 'x' } },
      }),
    );
    expect(validateMessage(typeNameOf(TypeUrl.CLUSTER), cluster)).toEqual([]);
    expect(
      validateMessage(typeNameOf(TypeUrl.CLUSTER), {
        name: 'c',
        conect_timeout: { seconds: 1 },
        transport_socket: { name: 'tls', typed_config: { '@type': TypeUrl.UPSTREAM_TLS_CONTEXT, snii: 'x' } },
      }),
    ).toEqual([
      { path: 'conect_timeout', message: 'unknown field (did you mean "connect_timeout"?)' },
      { path: 'transport_socket.typed_config.snii', message: 'unknown field (did you mean "sni"?)' },
    ]);
  });
});
