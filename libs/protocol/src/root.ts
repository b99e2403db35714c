import * as protobuf from 'protobufjs';
import { protocolErrors } from './errors';
import { ISTIO_PROTO_SOURCES } from './generated/istio-protos';
import { ENVOY_PROTO_FILES, envoyIncludeDirs, resolveInclude } from './proto-files';
import { typeNameOf } from './type-urls';

// google/protobuf/descriptor.proto & co. as protobufjs "common" files (the .proto imports them),
// from the JSON protobufjs ships, as @grpc/proto-loader registers them (without loading it).
type WktJson = { nested: { google: { nested: { protobuf: { nested: protobuf.INamespace['nested'] } } } } };
const commonJson: Record<string, WktJson> = {
  api: require('protobufjs/google/protobuf/api.json') as WktJson,
  descriptor: require('protobufjs/google/protobuf/descriptor.json') as WktJson,
  source_context: require('protobufjs/google/protobuf/source_context.json') as WktJson,
  type: require('protobufjs/google/protobuf/type.json') as WktJson,
};
for (const [name, json] of Object.entries(commonJson))
  protobuf.common(name, json.nested.google.nested.protobuf.nested ?? {});

const ISTIO_PATHS = new Set(ISTIO_PROTO_SOURCES.map((f) => f.path));

/**
 * Resolving a field puts its default value on its type's message constructor's prototype, and
 * so makes the constructor (a generated function, with a prototype holding one property per
 * field) of every type in the root while resolving it, though only the types a process decodes
 * or converts ever use theirs. Here a field resolved before its type has a constructor leaves
 * the prototype alone, and the constructor, made on first use, gets the defaults of the fields
 * resolved so far then, in the order resolveAll resolves them (nested extension fields first);
 * fields resolved afterwards set theirs as before. Issue #4: about 550 constructors and
 * prototypes of the sidecar's root.
 */
{
  type Ctor = { prototype: Record<string, unknown> };
  type Internal = { _ctor: Ctor | null; parent: unknown; name: string; defaultValue: unknown; resolved: boolean };
  // What a field sees as its type's constructor while it resolves: a prototype that keeps nothing.
  const NO_CTOR: Ctor = { prototype: new Proxy({}, { set: () => true }) };
  const field = protobuf.Field.prototype as unknown as { resolve: (this: protobuf.Field) => protobuf.Field };
  const resolve = field.resolve;
  field.resolve = function (this: protobuf.Field): protobuf.Field {
    const parent = (this as unknown as Internal).parent as Internal;
    if (this.resolved || !(parent instanceof protobuf.Type) || parent._ctor) return resolve.call(this);
    parent._ctor = NO_CTOR;
    try {
      return resolve.call(this);
    } finally {
      if (parent._ctor === NO_CTOR) parent._ctor = null;
    }
  };
  const Type = protobuf.Type as unknown as { generateConstructor: (t: protobuf.Type) => () => Ctor };
  const generateConstructor = Type.generateConstructor;
  Type.generateConstructor = (t: protobuf.Type) => {
    const gen = generateConstructor(t);
    return () => {
      const ctor = gen();
      // The prototype Type's ctor setter would make (it keeps one that is already a Message).
      const proto = new protobuf.Message() as unknown as Record<string, unknown>;
      proto['constructor'] = ctor;
      proto['$type'] = t;
      ctor.prototype = proto;
      const own = (f: unknown): f is protobuf.Field =>
        f instanceof protobuf.Field && f.resolved && (f as unknown as Internal).parent === t;
      for (const f of [...t.nestedArray.filter(own), ...t.fieldsArray.filter(own)])
        proto[f.name] = (f as unknown as Internal).defaultValue;
      return ctor;
    };
  };
  // setup gives a type with a protobufjs wrapper (google.protobuf.Any) codecs bound to an object
  // inheriting from the type, which must find the type's constructor there, not make its own.
  const typeProto = protobuf.Type.prototype as unknown as { setup: (this: protobuf.Type) => protobuf.Type };
  const setup = typeProto.setup;
  typeProto.setup = function (this: protobuf.Type): protobuf.Type {
    void this.ctor;
    return setup.call(this);
  };
}

/**
 * protobufjs generates all five codec functions of a type (encode, decode, verify, fromObject,
 * toObject) the first time any of them is called (`Type#setup`), and V8 keeps the source text of
 * each generated function. A sidecar only decodes the xDS resource types (decode + toObject) and
 * Pilot only encodes them (fromObject + encode), so here each function is generated on its own
 * first call: about 0.5 MB of never-called generated source less in a sidecar (issue #4). The
 * five stay own properties set in setup's order (stubs first), so every type keeps the layout
 * setup gives it. Types with protobufjs wrappers (google.protobuf.Any) keep the full setup.
 */
type Codegen = (t: protobuf.Type) => (scope: Record<string, unknown>) => (...args: unknown[]) => unknown;
const CODECS: [string, Codegen][] = [
  ['encode', protobuf.encoder as unknown as Codegen],
  ['decode', protobuf.decoder as unknown as Codegen],
  ['verify', protobuf.verifier as unknown as Codegen],
  ['fromObject', protobuf.converter.fromObject as unknown as Codegen],
  ['toObject', protobuf.converter.toObject as unknown as Codegen],
];
{
  const proto = protobuf.Type.prototype as unknown as Record<string, unknown>;
  const setup = proto['setup'] as (this: protobuf.Type) => protobuf.Type;
  const generate = (t: protobuf.Type, i: number) => {
    const [, make] = CODECS[i];
    const types = t.fieldsArray.map((f) => f.resolve().resolvedType);
    return make(t)({ Writer: protobuf.Writer, Reader: protobuf.Reader, types, util: protobuf.util });
  };
  for (const [name] of CODECS) {
    proto[name] = function (this: protobuf.Type, ...args: unknown[]): unknown {
      const self = this as unknown as Record<string, (...a: unknown[]) => unknown>;
      if (Object.prototype.hasOwnProperty.call(protobuf.wrappers, this.fullName))
        return (setup.call(this) as unknown as Record<string, (...a: unknown[]) => unknown>)[name].apply(this, args);
      if (!Object.prototype.hasOwnProperty.call(this, name)) {
        // First codec call on this type: own stubs for all five, in setup's order.
        for (let k = 0; k < CODECS.length; k++) {
          const n = CODECS[k][0];
          self[n] = function (this: protobuf.Type, ...a: unknown[]): unknown {
            const fn = generate(this, k);
            (this as unknown as Record<string, unknown>)[n] = fn;
            return fn.apply(this, a);
          };
        }
      }
      return self[name].apply(this, args);
    };
  }
}

/**
 * Files that only declare custom options (extensions of google.protobuf.FieldOptions & co.) and
 * the types of their values, imported by most of the API. The parser keeps an option such as
 * `(validate.rules).string.min_len` by its name without them, so decoding, encoding and the
 * validation rules read from `options` do not need them. While the first part of the root
 * loads, each is an empty file, and google/protobuf/descriptor.proto, which only they import,
 * is not loaded: about 400 fields of the root's 2,400 (issue #4). The rest of the root, loaded
 * on the first lookup the first part cannot answer, loads them for real.
 */
const OPTIONS_ONLY =
  /^(validate\/validate|udpa\/annotations\/\w+|xds\/annotations\/v3\/\w+|envoy\/annotations\/\w+|google\/api\/annotations)\.proto$/;
const OPTIONS_STUB = 'tsmesh-options-only/';
let stubOptions = false;
const stubbed = new Set<string>();

function newRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const dirs = envoyIncludeDirs();
  root.resolvePath = (_origin, target) => {
    if (stubOptions && OPTIONS_ONLY.test(target)) {
      // A flat copy: `target` is a slice of the importing file's source text and would keep it alive.
      stubbed.add([...target].join(''));
      const stub = OPTIONS_STUB + target;
      (protobuf.common as unknown as Record<string, unknown>)[stub] ??= { nested: {} };
      return stub;
    }
    return resolveInclude(target, dirs) ?? target;
  };
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

/**
 * Entry files a sidecar only needs on request: the admin dump types, the Bootstrap (a bootstrap
 * file), and the CSDS, LRS, RTDS and SRDS services. They (and the imports only they need, about
 * a quarter of the API) are loaded on the first lookup the rest cannot answer.
 */
const ON_DEMAND =
  /^envoy\/(admin\/|config\/bootstrap\/|service\/(status|load_stats|runtime)\/|service\/route\/v3\/srds)/;

let cached: protobuf.Root | undefined;
let complete = false;

/** The root as loaded so far: the Envoy API without the ON_DEMAND files, and the Istio-side protos. */
function loadedRoot(): protobuf.Root {
  if (cached) return cached;
  try {
    const root = newRoot();
    stubOptions = true;
    try {
      root.loadSync(
        ENVOY_PROTO_FILES.filter((f) => !ON_DEMAND.test(f)),
        { keepCase: true },
      );
      addIstioProtos(root);
    } finally {
      stubOptions = false;
    }
    root.resolveAll();
    compactRoot(root);
    cached = root;
    return root;
  } catch (e) {
    throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: (e as Error).message }, [], e);
  }
}

/**
 * The protobufjs Root with the Envoy v3 API (plus xds, udpa, validate, googleapis) and the
 * Istio-side protos, loaded once on first use with `keepCase` (snake_case field names).
 */
export function envoyRoot(): protobuf.Root {
  const root = loadedRoot();
  if (complete) return root;
  try {
    root.loadSync([...ENVOY_PROTO_FILES.filter((f) => ON_DEMAND.test(f)), ...stubbed], { keepCase: true });
    root.resolveAll();
    compactRoot(root);
    complete = true;
    return root;
  } catch (e) {
    throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: (e as Error).message }, [], e);
  }
}

/** A reflection object by full name (no leading dot), loading the ON_DEMAND files when needed. */
export function lookupReflection(name: string): protobuf.ReflectionObject | null {
  return loadedRoot().lookup(name) ?? (complete ? null : envoyRoot().lookup(name));
}

/**
 * Shrinks a resolved root, which lives as long as the process (in a sidecar it is the largest
 * single item of the heap), without changing what it describes:
 * - strings get one copy each, of their own: the parser slices names, option values and
 *   reserved names out of each .proto file's text (V8 keeps a sliced string's whole parent
 *   alive, about 1.5 MB of Envoy sources), and every object holds its own copy of its file name;
 * - plain data (options, parsed options, resolved edition features, enum value options,
 *   reserved ranges) is shared between objects holding equal data: every field, type, oneof
 *   and enum value has its own `_features` object, almost all of them alike. protobufjs
 *   replaces these objects, it never changes them in place, so sharing is safe;
 * - the namespaces' lookup caches, filled while resolving the whole tree, are emptied (lookups by
 *   full name go through the root's index; the caches refill with what is looked up later);
 * - comments are dropped (nothing reads them).
 */
function compactRoot(root: protobuf.Root): void {
  const strings = new Map<string, string>();
  const shared = new Map<string, unknown>();
  const str = (s: string): string => {
    let c = strings.get(s);
    if (c === undefined) {
      c = JSON.parse(JSON.stringify(s)) as string;
      strings.set(c, c);
    }
    return c;
  };
  const isData = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return typeof v !== 'function';
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== Array.prototype) return false;
    return Object.values(v).every(isData);
  };
  // Whole values are shared (one JSON text each; JSON.parse makes strings of their own).
  const canon = (v: unknown): unknown => {
    if (typeof v === 'string') return str(v);
    const key = JSON.stringify(v);
    let hit = shared.get(key);
    if (hit === undefined) {
      hit = JSON.parse(key) as unknown;
      shared.set(key, hit);
    }
    return hit;
  };
  const visit = (o: protobuf.ReflectionObject) => {
    o.comment = null;
    if (o instanceof protobuf.Enum) o.comments = {};
    const rec = o as unknown as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      const v = rec[key];
      if (typeof v === 'string' || (v !== null && typeof v === 'object' && isData(v))) rec[key] = canon(v);
    }
    if (o instanceof protobuf.Type) {
      for (const f of o.fieldsArray) visit(f);
      for (const f of o.oneofsArray) visit(f);
    }
    if (o instanceof protobuf.Service) for (const m of o.methodsArray) visit(m);
    if (o instanceof protobuf.Namespace) {
      rec['_lookupCache'] = Object.create(null);
      for (const n of o.nestedArray) visit(n);
    }
  };
  visit(root);
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
  let obj = loadedRoot().lookup(name);
  if (!(obj instanceof protobuf.Type) && !complete) obj = envoyRoot().lookup(name);
  if (!(obj instanceof protobuf.Type)) return undefined;
  if (typeCache.size < 10000) typeCache.set(nameOrUrl, obj);
  return obj;
}
