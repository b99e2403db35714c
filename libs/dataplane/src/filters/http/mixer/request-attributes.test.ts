import { MutableBag } from '@tsmesh/attributes';
import { addDestinationFromCluster } from './request-attributes';

describe('addDestinationFromCluster (client-side Report)', () => {
  it("names the destination service from Pilot's outbound cluster", () => {
    const bag = new MutableBag();
    addDestinationFromCluster(bag, 'outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(bag.get('destination.service.host')).toBe('reviews.default.svc.cluster.local');
    expect(bag.get('destination.service.name')).toBe('reviews');
    expect(bag.get('destination.service.namespace')).toBe('default');
    expect(bag.get('destination.service.uid')).toBe('istio://default/services/reviews');
  });

  it('keeps what the service config said, and leaves inbound and non-Istio clusters alone', () => {
    const bag = new MutableBag();
    bag.set('destination.service.host', 'ratings.default.svc.cluster.local');
    addDestinationFromCluster(bag, 'outbound|9080||reviews.default.svc.cluster.local');
    expect(bag.get('destination.service.host')).toBe('ratings.default.svc.cluster.local');
    const other = new MutableBag();
    addDestinationFromCluster(other, 'inbound|9080||reviews.default.svc.cluster.local');
    addDestinationFromCluster(other, 'PassthroughCluster');
    expect(other.has('destination.service.host')).toBe(false);
    const external = new MutableBag();
    addDestinationFromCluster(external, 'outbound|443||www.googleapis.com');
    expect(external.get('destination.service.host')).toBe('www.googleapis.com');
    expect(external.has('destination.service.name')).toBe(false);
  });
});
