/**
 * Durations as Istio and Envoy write them: `100ms`, `1.5s`, `10s`, `1m`, `24h`,
 * `1h30m`, protobuf JSON `"0.250s"`, and `{seconds, nanos}` objects. Values are
 * milliseconds (fractions kept).
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60000,
  h: 3600000,
  d: 86400000,
};

export function parseDuration(input: unknown): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : null;
  if (input && typeof input === 'object') {
    const o = input as { seconds?: unknown; nanos?: unknown };
    const s = Number(o.seconds ?? 0);
    const n = Number(o.nanos ?? 0);
    if (!Number.isFinite(s) || !Number.isFinite(n) || s < 0 || n < 0) return null;
    return s * 1000 + n / 1e6;
  }
  if (typeof input !== 'string') return null;
  const text = input.trim();
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? total : null;
}

/** Shortest readable form: 100ms, 10s, 5m, 24h. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [
    ['h', 3600000],
    ['m', 60000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** protobuf Duration JSON form (`"1.500s"`) as Envoy's YAML uses. */
export function toProtoDuration(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
