import { fqdn, hostMatches, hostProblem, hostsIntersect } from './hosts';

describe('hosts', () => {
  it('expands short names like Istio', () => {
    expect(fqdn('reviews', 'default')).toBe('reviews.default.svc.cluster.local');
    expect(fqdn('reviews.ns2', 'default')).toBe('reviews.ns2.svc.cluster.local');
    expect(fqdn('reviews.ns2.svc.cluster.local', 'default')).toBe('reviews.ns2.svc.cluster.local');
    expect(fqdn('now.httpbin.org', 'x')).toBe('now.httpbin.org');
    expect(fqdn('*', 'x')).toBe('*');
    expect(fqdn('*.tutorial.svc.cluster.local', 'x')).toBe('*.tutorial.svc.cluster.local');
    expect(fqdn('reviews', 'shop', 'example.org')).toBe('reviews.shop.svc.example.org');
    expect(fqdn('10.0.0.1', 'x')).toBe('10.0.0.1');
  });

  it('matches wildcards', () => {
    expect(hostMatches('*.example.com', 'api.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'a.b.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostMatches('*', 'anything')).toBe(true);
    expect(hostMatches('reviews.default.svc.cluster.local', 'REVIEWS.default.svc.cluster.local')).toBe(true);
    expect(hostMatches('a.example.com', 'b.example.com')).toBe(false);
    expect(hostsIntersect('*.example.com', '*.api.example.com')).toBe(true);
  });

  it('explains bad hosts', () => {
    expect(hostProblem('reviews')).toBeNull();
    expect(hostProblem('*.example.com')).toBeNull();
    expect(hostProblem('a..b')).toBe('empty DNS label');
    expect(hostProblem('a.*.b')).toBe('a wildcard is only allowed as the first label');
    expect(hostProblem('bad host')).toBe('invalid DNS label "bad host"');
    expect(hostProblem('*', { allowWildcard: false })).toBe('wildcard not allowed here');
  });
});
