/**
 * envoy.extensions.filters.http.fault.v3.HTTPFault decoded once per push: fixed or
 * header-controlled delay, HTTP/gRPC or header-controlled abort, fractional percentages,
 * header matchers and max_active_faults.
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import type { Msg } from '../../../engine/types';
import { wrapped } from '../../../engine/types';
import { compileHeaderMatcher, type HeaderGetter } from '../../../http/matchers';
import { fractionOf } from '../../../http/route-table';

export const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export interface FaultConfig {
  readonly delay?: { fixedMs?: number; fromHeader: boolean; fraction: number; denominator: number };
  readonly abort?: {
    httpStatus?: number;
    grpcStatus?: number;
    fromHeader: boolean;
    fraction: number;
    denominator: number;
  };
  readonly headers: readonly ((get: HeaderGetter) => boolean)[];
  readonly maxActiveFaults?: number;
}

function denominatorOf(f: Msg | undefined): number {
  const d = f?.['denominator'];
  return d === 'MILLION' || d === 2 ? 1e6 : d === 'TEN_THOUSAND' || d === 1 ? 1e4 : 100;
}

export function parseFaultConfig(m: Msg, path: string, errors: FieldError[]): FaultConfig {
  let delay: FaultConfig['delay'];
  let abort: FaultConfig['abort'];
  const d = m['delay'] as Msg | undefined;
  if (d) {
    const fromHeader = d['header_delay'] !== undefined;
    const fixed = d['fixed_delay'] !== undefined ? parseDuration(d['fixed_delay']) : undefined;
    if (fixed === null) errors.push({ path: `${path}.delay.fixed_delay`, message: 'invalid duration' });
    if (!fromHeader && fixed === undefined)
      errors.push({ path: `${path}.delay`, message: 'fixed_delay or header_delay is required' });
    delay = {
      fixedMs: fixed ?? undefined,
      fromHeader,
      fraction: fractionOf(d['percentage']),
      denominator: denominatorOf(d['percentage']),
    };
  }
  const a = m['abort'] as Msg | undefined;
  if (a) {
    const fromHeader = a['header_abort'] !== undefined;
    const httpStatus = a['http_status'] !== undefined ? Number(a['http_status']) : undefined;
    const grpcStatus = a['grpc_status'] !== undefined ? Number(a['grpc_status']) : undefined;
    if (httpStatus !== undefined && !(httpStatus >= 200 && httpStatus < 600)) {
      errors.push({ path: `${path}.abort.http_status`, message: 'must be 200..599' });
    }
    if (!fromHeader && httpStatus === undefined && grpcStatus === undefined) {
      errors.push({ path: `${path}.abort`, message: 'http_status, grpc_status or header_abort is required' });
    }
    abort = {
      httpStatus,
      grpcStatus,
      fromHeader,
      fraction: fractionOf(a['percentage']),
      denominator: denominatorOf(a['percentage']),
    };
  }
  const headers = ((m['headers'] as Msg[] | undefined) ?? []).map((h, i) =>
    compileHeaderMatcher(h, `${path}.headers[${i}]`, errors),
  );
  const max = m['max_active_faults'] === undefined ? undefined : Number(wrapped(m['max_active_faults'], 0));
  return { delay, abort, headers, maxActiveFaults: max };
}
