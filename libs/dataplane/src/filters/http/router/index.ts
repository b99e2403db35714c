/**
 * envoy.filters.http.router. The routing itself lives in `http/router.ts` (it is the end of
 * every chain); this entry only accepts and validates its typed_config.
 */
import type { HttpFilterFactory } from '../../types';

export const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export interface RouterConfig {
  suppressEnvoyHeaders: boolean;
}

export const routerFilter: HttpFilterFactory<RouterConfig> = {
  name: 'envoy.filters.http.router',
  typeUrls: [ROUTER_TYPE_URL],
  parseConfig: (m) => ({ suppressEnvoyHeaders: m['suppress_envoy_headers'] === true }),
  create: () => () => ({}),
};
