/**
 * Envoy access-log formatting: a format string of command operators
 * (`%START_TIME%`, `%REQ(X?Y):N%`, `%RESP(X)%`, `%RESPONSE_FLAGS%`,
 * `%UPSTREAM_HOST%`, `%DURATION%`, `%BYTES_SENT%`, …) compiled once into
 * parts, then applied per request. Missing values print `-`, as in Envoy.
 * `json_format` maps keys to formats; a value that is one operator keeps its
 * type (numbers stay numbers, missing becomes null).
 */
import { telemetryErrors } from './telemetry-errors';

/** Envoy's default format string (`access_log` "Default Format String"). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

type Headers = Record<string, string | string[] | number | undefined>;

/** What one finished request/connection looks like to a formatter. */
export interface AccessLogEntry {
  /** Epoch milliseconds. */
  startTime: number;
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  protocol?: string;
  requestHeaders?: Headers;
  responseHeaders?: Headers;
  responseTrailers?: Headers;
  responseCode?: number;
  responseCodeDetails?: string;
  /** Envoy short flags (`UH`, `NR`, …); joined with `,`. */
  responseFlags?: readonly string[];
  bytesReceived?: number;
  bytesSent?: number;
  durationMs?: number;
  requestDurationMs?: number;
  responseDurationMs?: number;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  upstreamTransportFailureReason?: string;
  downstreamLocalAddress?: string;
  downstreamRemoteAddress?: string;
  requestedServerName?: string;
  routeName?: string;
  connectionTerminationDetails?: string;
}

type Value = string | number | undefined;
type Part = (e: AccessLogEntry) => Value;

function header(h: Headers | undefined, name: string): string | undefined {
  if (!h) return undefined;
  const v = h[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** A getter for one request header, the pseudo-headers read from the entry's fields. */
function requestHeaderGetter(name: string): (e: AccessLogEntry) => string | undefined {
  switch (name) {
    case ':method':
      return (e) => e.method;
    case ':path':
      return (e) => e.path;
    case ':authority':
      return (e) => e.authority ?? header(e.requestHeaders, 'host');
    case ':scheme':
      return (e) => e.scheme;
    default:
      return (e) => header(e.requestHeaders, name);
  }
}

const withoutPort = (addr: string | undefined) => (addr ? addr.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') : addr);
const ms = (v: number | undefined) => (v === undefined ? undefined : Math.round(v));

/** `%START_TIME%` (ISO 8601 UTC with ms): the text up to the second is formatted once per second. */
let stampSecond = NaN;
let stampPrefix = '';
export function formatStartTime(ms: number): string {
  const t = Math.floor(ms);
  const second = Math.floor(t / 1000);
  if (second !== stampSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Years outside 0..9999 have a longer form; format those whole.
    if (iso.length !== 24) return new Date(t).toISOString();
    stampSecond = second;
    stampPrefix = iso.slice(0, 20);
  }
  const milli = t - second * 1000;
  return `${stampPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

const SIMPLE: Record<string, Part> = {
  START_TIME: (e) => formatStartTime(e.startTime),
  PROTOCOL: (e) => e.protocol,
  RESPONSE_CODE: (e) => e.responseCode ?? 0,
  RESPONSE_CODE_DETAILS: (e) => e.responseCodeDetails,
  RESPONSE_FLAGS: (e) => (e.responseFlags && e.responseFlags.length ? e.responseFlags.join(',') : undefined),
  BYTES_RECEIVED: (e) => e.bytesReceived ?? 0,
  BYTES_SENT: (e) => e.bytesSent ?? 0,
  DURATION: (e) => ms(e.durationMs),
  REQUEST_DURATION: (e) => ms(e.requestDurationMs),
  RESPONSE_DURATION: (e) => ms(e.responseDurationMs),
  UPSTREAM_HOST: (e) => e.upstreamHost,
  UPSTREAM_CLUSTER: (e) => e.upstreamCluster,
  UPSTREAM_LOCAL_ADDRESS: (e) => e.upstreamLocalAddress,
  UPSTREAM_TRANSPORT_FAILURE_REASON: (e) => e.upstreamTransportFailureReason,
  DOWNSTREAM_LOCAL_ADDRESS: (e) => e.downstreamLocalAddress,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamLocalAddress),
  DOWNSTREAM_REMOTE_ADDRESS: (e) => e.downstreamRemoteAddress,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamRemoteAddress),
  REQUESTED_SERVER_NAME: (e) => e.requestedServerName,
  ROUTE_NAME: (e) => e.routeName,
  CONNECTION_TERMINATION_DETAILS: (e) => e.connectionTerminationDetails,
  HOSTNAME: () => process.env['HOSTNAME'],
};

const OPERATOR = /%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%/y;

function headerPart(kind: string, arg: string, format: string): Part {
  const alternatives = arg.split('?').map((s) => s.trim().toLowerCase());
  if (alternatives.length > 2 || alternatives.some((a) => a === '')) {
    throw telemetryErrors.error('TELEMETRY_ERR_ACCESS_LOG_FORMAT', { format, why: `bad header in %${kind}(${arg})%` });
  }
  // Each alternative's getter is chosen here, once, not per request.
  const getters = alternatives.map((n) =>
    kind === 'REQ'
      ? requestHeaderGetter(n)
      : kind === 'RESP'
        ? (e: AccessLogEntry) => header(e.responseHeaders, n)
        : (e: AccessLogEntry) => header(e.responseTrailers, n),
  );
  const [a, b] = getters;
  if (b === undefined) return a;
  return (e) => {
    const v = a(e);
    return v !== undefined && v !== '' ? v : b(e);
  };
}

function compileOne(name: string, arg: string | undefined, format: string): Part {
  if (name === 'REQ' || name === 'RESP' || name === 'TRAILER') {
    if (arg === undefined) {
      throw telemetryErrors.error('TELEMETRY_ERR_ACCESS_LOG_FORMAT', { format, why: `%${name}% needs a header name` });
    }
    return headerPart(name, arg, format);
  }
  const part = SIMPLE[name];
  if (!part)
    throw telemetryErrors.error('TELEMETRY_ERR_ACCESS_LOG_FORMAT', { format, why: `unknown operator %${name}%` });
  return part;
}

function truncate(part: Part, max: number | undefined): Part {
  if (max === undefined) return part;
  return (e) => {
    const v = part(e);
    return typeof v === 'string' ? v.slice(0, max) : v;
  };
}

interface Compiled {
  parts: Array<string | Part>;
}

function compile(format: string): Compiled {
  const parts: Array<string | Part> = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    if (format[i] !== '%') {
      literal += format[i++];
      continue;
    }
    if (format[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    OPERATOR.lastIndex = i;
    const m = OPERATOR.exec(format);
    if (!m) {
      throw telemetryErrors.error('TELEMETRY_ERR_ACCESS_LOG_FORMAT', {
        format: JSON.stringify(format),
        why: `unterminated or malformed operator at offset ${i}`,
      });
    }
    if (literal) parts.push(literal);
    literal = '';
    parts.push(truncate(compileOne(m[1], m[2], JSON.stringify(format)), m[3] ? Number(m[3]) : undefined));
    i = OPERATOR.lastIndex;
  }
  if (literal) parts.push(literal);
  return { parts };
}

export type AccessLogFormatter = (entry: AccessLogEntry) => string;

/** Compiles an Envoy text format (defaults to Envoy's default format). Throws on unknown operators. */
export function compileTextFormat(format: string = ENVOY_DEFAULT_FORMAT): AccessLogFormatter {
  const { parts } = compile(format);
  // Literal text and operators apart: literals[i] goes before operators[i], the last literal after.
  const literals: string[] = [''];
  const operators: Part[] = [];
  for (const p of parts) {
    if (typeof p === 'string') literals[literals.length - 1] += p;
    else {
      operators.push(p);
      literals.push('');
    }
  }
  const n = operators.length;
  const tail = literals[n];
  return (e) => {
    let out = '';
    for (let i = 0; i < n; i++) {
      const v = operators[i](e);
      out += literals[i];
      out += v === undefined || v === '' ? '-' : typeof v === 'string' ? v : String(v);
    }
    return out + tail;
  };
}

/** Compiles Envoy's `json_format` (one JSON object per line). */
export function compileJsonFormat(fields: Record<string, string>): AccessLogFormatter {
  const compiled = Object.entries(fields).map(([key, fmt]) => {
    const { parts } = compile(fmt);
    return { key, parts };
  });
  return (e) => {
    const obj: Record<string, string | number | null> = {};
    for (const { key, parts } of compiled) {
      if (parts.length === 1 && typeof parts[0] !== 'string') {
        const v = parts[0](e);
        obj[key] = v === undefined || v === '' ? null : v;
        continue;
      }
      obj[key] = parts
        .map((p) => {
          if (typeof p === 'string') return p;
          const v = p(e);
          return v === undefined || v === '' ? '-' : String(v);
        })
        .join('');
    }
    return JSON.stringify(obj) + '\n';
  };
}
