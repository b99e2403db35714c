/** Object form of google.protobuf.Duration / Timestamp. */
export interface ProtoDuration {
  seconds?: number | string;
  nanos?: number;
}

/** Object form of a wrapper (google.protobuf.UInt32Value & co.). */
export interface ProtoWrapper<T> {
  value?: T;
}

/** Milliseconds of a Duration in object form (seconds may be a string, as proto-loader gives int64s). */
export function durationToMs(d: ProtoDuration | null | undefined): number | undefined;
export function durationToMs(d: ProtoDuration | null | undefined, fallbackMs: number): number;
export function durationToMs(d: ProtoDuration | null | undefined, fallbackMs?: number): number | undefined {
  if (d === null || d === undefined) return fallbackMs;
  return Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6;
}

/** Duration object form for a number of milliseconds (may be fractional; nanos keep the sign of seconds). */
export function msToDuration(ms: number): { seconds?: number; nanos?: number } {
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return timeParts(seconds, nanos);
}

/** `{ seconds, nanos }` without zero parts, as protobufjs's toObject gives decoded messages. */
function timeParts(seconds: number, nanos: number): { seconds?: number; nanos?: number } {
  const out: { seconds?: number; nanos?: number } = {};
  if (seconds !== 0) out.seconds = seconds;
  if (nanos !== 0) out.nanos = nanos;
  return out;
}

/** The value of a wrapper field, or `fallback` when the field is unset. */
export function wrapperValue<T>(w: ProtoWrapper<T> | null | undefined, fallback: T): T {
  return w === null || w === undefined || w.value === undefined || w.value === null ? fallback : w.value;
}

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** Parses proto3-JSON duration text ("1s", "0.25s", "-1.5s"); undefined when malformed. */
export function parseDurationText(text: string): { seconds?: number; nanos?: number } | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]);
  if (seconds > 315576000000) return undefined;
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  return timeParts(sign * seconds || 0, sign * nanos || 0);
}

/** proto3-JSON text for a duration with the fewest fractional digits ("1s", "0.25s"). */
export function formatDuration(d: ProtoDuration): string {
  const seconds = Number(d.seconds ?? 0);
  const nanos = d.nanos ?? 0;
  const negative = seconds < 0 || nanos < 0;
  const s = Math.abs(seconds);
  const n = Math.abs(nanos);
  const frac = n === 0 ? '' : '.' + String(n).padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${s}${frac}s`;
}

const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp into { seconds, nanos }; undefined when malformed. */
export function parseTimestampText(text: string): { seconds?: number; nanos?: number } | undefined {
  const m = TS_RE.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8].toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  return timeParts(Math.floor(ms / 1000), m[7] ? Number(m[7].padEnd(9, '0')) : 0);
}

/** RFC 3339 text (UTC, "Z") for a Timestamp, with 0, 3, 6 or 9 fractional digits. */
export function formatTimestamp(t: ProtoDuration): string {
  const seconds = Number(t.seconds ?? 0);
  const nanos = t.nanos ?? 0;
  const base = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  if (nanos === 0) return `${base}Z`;
  let frac = String(nanos).padStart(9, '0');
  if (frac.endsWith('000000')) frac = frac.slice(0, 3);
  else if (frac.endsWith('000')) frac = frac.slice(0, 6);
  return `${base}.${frac}Z`;
}
