/**
 * Wire encoding for pushes, done once and shared by every proxy that gets the
 * same content:
 * - a resource's `Any` is encoded once per generated object (objects are
 *   shared by proxies and reused across pushes);
 * - a RouteConfiguration is assembled from virtual hosts encoded once per
 *   object, so a change to one host re-encodes that host only;
 * - the DiscoveryResponse body (version, resources, type URL) is encoded once
 *   per distinct content and version, nonce included, and written as is to
 *   every stream that gets it, through a pass-through serializer.
 * Protobuf writes fields in field-number order, so these byte concatenations
 * equal what encoding the whole message at once gives (tested).
 */
import { createHash } from 'node:crypto';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { encode, lookupType, packAny } from '@tsmesh/protocol';
import { TYPE, type Msg } from '../configgen/names';

const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
const VIRTUAL_HOST = 'envoy.config.route.v3.VirtualHost';

/** One resource packed for the wire. */
export interface Packed {
  /** Sequence number: identifies this encoding in response cache keys. */
  id: number;
  wire: { type_url: string; value: Buffer };
  name: string;
  hash: string;
}

/** Protobuf key (field number + wire type 2, length-delimited), as a varint. */
function lengthDelimitedKey(field: number): Buffer {
  return varint((field << 3) | 2);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function fieldId(typeName: string, field: string): number {
  const f = lookupType(typeName).fields[field];
  if (!f) throw new Error(`${typeName} has no field ${field}`);
  return f.id;
}

/** Pass Buffers (pre-encoded DiscoveryResponses) through the service's response serializer. */
export function passThroughResponses(def: ServiceDefinition): ServiceDefinition {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(def)) {
    const serialize = method.responseSerialize;
    out[name] = {
      ...method,
      responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : serialize(v)),
    };
  }
  return out as ServiceDefinition;
}

/** A DiscoveryResponse ready to write. */
export interface EncodedResponse {
  nonce: string;
  /** version_info, resources, type_url: the part shared by every stream. */
  body: Buffer;
  /** The whole message. */
  bytes: Buffer;
}

export class WireEncoder {
  constructor(private readonly controlPlane: string) {}

  private readonly packCache = new WeakMap<object, Packed>();
  private readonly vhostCache = new WeakMap<object, Buffer>();
  private packSeq = 0;
  private nonceSeq = 0;
  private bodyVersion?: string;
  private bodies = new Map<string, EncodedResponse>();
  private readonly anyTypeUrlKey = lengthDelimitedKey(fieldId('google.protobuf.Any', 'type_url'));
  private readonly anyValueKey = lengthDelimitedKey(fieldId('google.protobuf.Any', 'value'));
  private readonly resourcesKey = lengthDelimitedKey(fieldId(DISCOVERY_RESPONSE, 'resources'));
  private readonly vhostsField = 'virtual_hosts';
  private readonly vhostKey = lengthDelimitedKey(fieldId(ROUTE_CONFIGURATION, 'virtual_hosts'));
  private readonly vhostFieldId = fieldId(ROUTE_CONFIGURATION, 'virtual_hosts');
  private readonly routeFieldsBefore = Object.values(lookupType(ROUTE_CONFIGURATION).fields)
    .filter((f) => f.id < this.vhostFieldId)
    .map((f) => f.name);

  /** Encodes a generated resource once per object. */
  pack(typeUrl: string, m: Msg): Packed {
    const hit = this.packCache.get(m);
    if (hit) return hit;
    const wire =
      typeUrl === TYPE.route && Array.isArray(m[this.vhostsField])
        ? { type_url: typeUrl, value: this.routeConfiguration(m) }
        : packAny(typeUrl, m);
    const packed: Packed = {
      id: ++this.packSeq,
      wire,
      name: String(m['name'] ?? m['cluster_name'] ?? ''),
      hash: createHash('sha1').update(wire.value).digest('base64'),
    };
    this.packCache.set(m, packed);
    return packed;
  }

  /**
   * RouteConfiguration bytes from its fields before `virtual_hosts`, each
   * virtual host (encoded once per object), then the fields after.
   */
  routeConfiguration(rc: Msg): Buffer {
    const vhosts = rc[this.vhostsField] as Msg[];
    const rest: Msg = { ...rc };
    delete rest[this.vhostsField];
    const head: Msg = {};
    for (const f of this.routeFieldsBefore) if (f in rest) head[f] = rest[f];
    const headBytes = encode(ROUTE_CONFIGURATION, head);
    const restBytes = encode(ROUTE_CONFIGURATION, rest);
    if (!restBytes.subarray(0, headBytes.length).equals(headBytes)) return packAny(TYPE.route, rc).value;
    const parts: Buffer[] = [headBytes];
    for (const vh of vhosts) {
      let b = this.vhostCache.get(vh);
      if (!b) {
        b = encode(VIRTUAL_HOST, vh);
        this.vhostCache.set(vh, b);
      }
      parts.push(this.vhostKey, varint(b.length), b);
    }
    parts.push(restBytes.subarray(headBytes.length));
    return Buffer.concat(parts);
  }

  /**
   * The DiscoveryResponse for these resources at this version, encoded once
   * and written to every stream that gets the same content. Its nonce is
   * shared by those streams (a nonce only has to tell a stream's responses
   * apart); `sentNonce` is the stream's last nonce of this type: if it is
   * the shared one (the same content again), the stream gets its own.
   */
  response(version: string, typeUrl: string, resources: readonly Packed[], sentNonce?: string): EncodedResponse {
    if (version !== this.bodyVersion) {
      this.bodyVersion = version;
      this.bodies = new Map();
    }
    let key = typeUrl;
    for (const p of resources) key += `,${p.id}`;
    let shared = this.bodies.get(key);
    if (!shared) {
      const nonce = this.nonce();
      const body = this.encodeBody(version, typeUrl, resources);
      shared = { nonce, body, bytes: Buffer.concat([body, this.trailer(nonce)]) };
      this.bodies.set(key, shared);
    }
    if (sentNonce !== shared.nonce) return shared;
    const nonce = this.nonce();
    return { nonce, body: shared.body, bytes: Buffer.concat([shared.body, this.trailer(nonce)]) };
  }

  private nonce(): string {
    return (++this.nonceSeq).toString(36);
  }

  /** The fields after the resources: nonce and control plane. */
  private trailer(nonce: string): Buffer {
    return encode(DISCOVERY_RESPONSE, { nonce, control_plane: { identifier: this.controlPlane } });
  }

  private encodeBody(version: string, typeUrl: string, resources: readonly Packed[]): Buffer {
    const head = encode(DISCOVERY_RESPONSE, { version_info: version });
    const tail = encode(DISCOVERY_RESPONSE, { type_url: typeUrl });
    const parts: Buffer[] = [head];
    for (const p of resources) {
      // google.protobuf.Any: type_url = 1, value = 2.
      const url = Buffer.from(p.wire.type_url);
      const urlLen = varint(url.length);
      const valueLen = varint(p.wire.value.length);
      const t = this.anyTypeUrlKey;
      const v = this.anyValueKey;
      const anyLen = t.length + urlLen.length + url.length + v.length + valueLen.length + p.wire.value.length;
      parts.push(this.resourcesKey, varint(anyLen), t, urlLen, url, v, valueLen, p.wire.value);
    }
    parts.push(tail);
    return Buffer.concat(parts);
  }
}
