import type { HttpFilterFactory } from '../../types';
import { CORS_POLICY_TYPE_URL, CORS_TYPE_URL, parseCorsPolicy, type CorsPolicy } from './config';
import { createCorsFilter } from './filter';

export { CORS_POLICY_TYPE_URL, CORS_TYPE_URL, type CorsPolicy } from './config';

/** envoy.filters.http.cors: listener config is empty; policies are per route. */
export const corsFilter: HttpFilterFactory<null, CorsPolicy | null> = {
  name: 'envoy.filters.http.cors',
  typeUrls: [CORS_TYPE_URL, CORS_POLICY_TYPE_URL],
  parseConfig: () => null,
  parsePerRoute: parseCorsPolicy,
  create: createCorsFilter,
};
