import { registerBuiltinFilters } from './builtin';
import { FilterRegistry } from './types';

describe('registerBuiltinFilters', () => {
  it('registers router, fault, cors, local_ratelimit, jwt_authn and rbac by Envoy name and type URL', () => {
    const registry = registerBuiltinFilters(new FilterRegistry());
    expect(registry.names().sort()).toEqual([
      'envoy.filters.http.cors',
      'envoy.filters.http.fault',
      'envoy.filters.http.jwt_authn',
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.rbac',
      'envoy.filters.http.router',
    ]);
    expect(registry.lookup('any', 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault')?.name).toBe(
      'envoy.filters.http.fault',
    );
  });
});
