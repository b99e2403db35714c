import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { protocolErrors } from './errors';
import { ISTIO_PROTO_SOURCES } from './generated/istio-protos';
import { ENVOY_PROTO_FILES, envoyIncludeDirs, resolveInclude } from './proto-files';
import { typeNameOf } from './type-urls';

// Importing @grpc/proto-loader registers descriptor.proto & co. as protobufjs "common" files.
void protoLoader;

const ISTIO_PATHS = new Set(ISTIO_PROTO_SOURCES.map((f) => f.path));

function newRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const dirs = envoyIncludeDirs();
  root.resolvePath = (_origin, target) => resolveInclude(target, dirs) ?? target;
  return root;
}

/**
 * Parses the embedded Istio-side protos (protos/ at generation time) into `root`,
 * loading their non-Istio imports (google/protobuf, google/rpc) from the include dirs.
 */
export function addIstioProtos(root: protobuf.Root, only?: ReadonlySet<string>): void {
  const files = ISTIO_PROTO_SOURCES.filter((f) => (!only || only.has(f.path)) && !root.files.includes(f.path));
  // Load the external imports first, all at once: loadSync resolves the whole root after each call.
  const external = new Set<string>();
  for (const file of files) {
    for (const m of file.source.matchAll(IMPORT_RE)) if (!ISTIO_PATHS.has(m[1])) external.add(m[1]);
  }
  if (external.size > 0) root.loadSync([...external], { keepCase: true });
  for (const file of files) {
    protobuf.parse(file.source, root, { keepCase: true });
    root.files.push(file.path);
  }
}

const IMPORT_RE = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm;

/** Imports of an Istio proto inside protos/, transitively, including itself. */
export function istioClosure(entry: string): Set<string> {
  const out = new Set<string>();
  const visit = (p: string) => {
    if (out.has(p)) return;
    const file = ISTIO_PROTO_SOURCES.find((f) => f.path === p);
    if (!file) return;
    out.add(p);
    for (const m of file.source.matchAll(IMPORT_RE)) visit(m[1]);
  };
  visit(entry);
  return out;
}

let cached: protobuf.Root | undefined;

/**
 * The protobufjs Root with the Envoy v3 API (plus xds, udpa, validate, googleapis) and the
 * Istio-side protos, loaded once on first use with `keepCase` (snake_case field names).
 */
export function envoyRoot(): protobuf.Root {
  if (cached) return cached;
  try {
    const root = newRoot();
    root.loadSync([...ENVOY_PROTO_FILES], { keepCase: true });
    addIstioProtos(root);
    root.resolveAll();
    detachSources(root);
    cached = root;
    return root;
  } catch (e) {
    throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: (e as Error).message }, [], e);
  }
}

/**
 * The parser slices names, option values, reserved names and comments out of each .proto
 * file's text, and V8 keeps a sliced string's whole parent alive: without this the Envoy
 * sources (about 1.5 MB) stay in the heap for as long as the root does. Replaces every plain
 * data property of every reflection object (strings, arrays and objects of them) with a copy
 * of its own, and drops the comments (nothing reads them).
 */
function detachSources(ns: protobuf.NamespaceBase): void {
  const isData = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return true;
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== Array.prototype) return false;
    return Object.values(v).every(isData);
  };
  const visit = (o: protobuf.ReflectionObject) => {
    o.comment = null;
    if (o instanceof protobuf.Enum) o.comments = {};
    const rec = o as unknown as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      const v = rec[key];
      if (typeof v === 'string' || (v !== null && typeof v === 'object' && isData(v)))
        rec[key] = JSON.parse(JSON.stringify(v));
    }
    if (o instanceof protobuf.Type) {
      for (const f of o.fieldsArray) visit(f);
      for (const f of o.oneofsArray) visit(f);
    }
    if (o instanceof protobuf.Service) for (const m of o.methodsArray) visit(m);
    if (o instanceof protobuf.Namespace) for (const n of o.nestedArray) visit(n);
  };
  visit(ns as protobuf.ReflectionObject);
}

/** A fresh root for a subset of the Istio protos (small, for gRPC service definitions). */
export function istioRoot(entry: string): protobuf.Root {
  const root = newRoot();
  addIstioProtos(root, istioClosure(entry));
  root.resolveAll();
  return root;
}

const typeCache = new Map<string, protobuf.Type>();

/**
 * The message type for a full proto name (`envoy.config.listener.v3.Listener`) or a type
 * URL (`type.googleapis.com/envoy.config.listener.v3.Listener`); throws PROTOCOL_ERR_UNKNOWN_TYPE.
 */
export function lookupType(nameOrUrl: string): protobuf.Type {
  const found = findType(nameOrUrl);
  if (!found) throw protocolErrors.error('PROTOCOL_ERR_UNKNOWN_TYPE', { type: nameOrUrl });
  return found;
}

/** Like lookupType, but undefined when the type is not loaded. */
export function findType(nameOrUrl: string): protobuf.Type | undefined {
  const hit = typeCache.get(nameOrUrl);
  if (hit) return hit;
  const name = typeNameOf(nameOrUrl).replace(/^\./, '');
  if (!name) return undefined;
  const obj = envoyRoot().lookup(name);
  if (!(obj instanceof protobuf.Type)) return undefined;
  if (typeCache.size < 10000) typeCache.set(nameOrUrl, obj);
  return obj;
}
