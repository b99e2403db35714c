/**
 * Headers an app must copy from its inbound request to every outbound call so
 * the mesh can join spans into one trace (the list bookinfo's productpage
 * forwards, plus `end-user` for user-based routing and single-header `b3`).
 */
export const TRACE_HEADERS = [
  'x-request-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'x-ot-span-context',
  'b3',
  'end-user',
] as const;

type HeaderBag = Record<string, string | string[] | undefined>;

/** The trace headers present in `incoming`, lower-cased, first value only. */
export function propagateHeaders(incoming: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TRACE_HEADERS) {
    const v = incoming[name];
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}
