/**
 * CORS policy (envoy.extensions.filters.http.cors.v3.CorsPolicy, also the route/virtual-host
 * `cors` field Istio 1.0 generated): allowed origins as StringMatchers, methods, headers,
 * exposed headers, max age, credentials.
 */
import type { FieldError } from '@tsmesh/core';
import { wrapped, type Msg } from '../../../engine/types';
import { compileStringMatcher, type StringPredicate } from '../../../http/matchers';

export const CORS_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
export const CORS_POLICY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';

export interface CorsPolicy {
  readonly origins: readonly StringPredicate[];
  readonly allowMethods?: string;
  readonly allowHeaders?: string;
  readonly exposeHeaders?: string;
  readonly maxAge?: string;
  readonly allowCredentials: boolean;
  readonly enabled: boolean;
}

export function parseCorsPolicy(m: Msg, path: string, errors: FieldError[]): CorsPolicy | null {
  if (!m || Object.keys(m).filter((k) => k !== '@type').length === 0) return null;
  const origins = [
    ...((m['allow_origin_string_match'] as Msg[] | undefined) ?? []).map((o, i) =>
      compileStringMatcher(o, `${path}.allow_origin_string_match[${i}]`, errors),
    ),
    ...((m['allow_origin'] as string[] | undefined) ?? []).map((o) =>
      o === '*' ? () => true : (v: string) => v === o,
    ),
  ];
  const enabled =
    m['filter_enabled'] === undefined
      ? wrapped(m['enabled'], true) !== false
      : (m['filter_enabled']?.['default_value']?.['numerator'] ?? 100) > 0;
  return {
    origins,
    allowMethods: m['allow_methods'] || undefined,
    allowHeaders: m['allow_headers'] || undefined,
    exposeHeaders: m['expose_headers'] || undefined,
    maxAge: m['max_age'] || undefined,
    allowCredentials: wrapped(m['allow_credentials'], false) === true,
    enabled,
  };
}
