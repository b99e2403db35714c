/** Explicit registration of the built-in HTTP filters (called from main.ts, never on import). */
import { corsFilter } from './http/cors';
import { faultFilter } from './http/fault';
import { routerFilter } from './http/router';
import type { FilterRegistry } from './types';

export function registerBuiltinFilters(registry: FilterRegistry): FilterRegistry {
  return registry.register(routerFilter).register(faultFilter).register(corsFilter);
}
