import { MutableBag, SlotBag, type Bag } from './bag';

/** Everything a reader sees of a bag: names in order with values and types. */
const view = (b: Bag) => [...b.names()].map((n) => [n, b.get(n), b.typeOf(n)]);

const statics = () =>
  new MutableBag()
    .set('context.reporter.kind', 'inbound')
    .set('destination.port', 9080, 'INT64')
    .set('destination.labels', { app: 'reviews' });

describe('MutableBag', () => {
  it('setting a name again without a type drops its type; other names keep theirs', () => {
    const bag = new MutableBag().set('source.port', 1, 'INT64').set('response.duration', 5, 'DURATION');
    bag.set('response.size', 7).set('source.port', 2);
    expect([bag.typeOf('source.port'), bag.typeOf('response.duration'), bag.typeOf('response.size')]).toEqual([
      undefined,
      'DURATION',
      undefined,
    ]);
    bag.delete('response.duration');
    bag.set('response.duration', 6);
    expect(bag.typeOf('response.duration')).toBeUndefined();
  });
});

describe('SlotBag over a shared base', () => {
  it('reads as if the base had been set first, in its order', () => {
    const base = statics();
    const layered = new SlotBag(base).set('request.path', '/a').set('response.code', 200, 'INT64');
    const flat = statics().set('request.path', '/a').set('response.code', 200, 'INT64');
    expect(view(layered)).toEqual(view(flat));
    expect(layered.size).toBe(5);
    expect(layered.has('destination.port')).toBe(true);
    expect(layered.has('request.path')).toBe(true);
    expect(layered.has('request.method')).toBe(false);
    expect(layered.get('request.method')).toBeUndefined();
    expect(layered.mapEntry('destination.labels', 'app')).toBe('reviews');
    expect(layered.toRecord()).toEqual(flat.toRecord());
    expect(layered.sharedBase()).toBe(base);
    expect(layered.keys).toEqual(['request.path', 'response.code']);
    // the base is shared, not copied, and never changed by the bags over it
    const other = new SlotBag(base).set('request.path', '/b');
    expect(other.get('request.path')).toBe('/b');
    expect(view(base)).toEqual(view(statics()));
  });

  it('a name set again keeps its place and takes the new value and type; a base name unshares the base', () => {
    const layered = new SlotBag(statics())
      .set('request.path', '/a')
      .set('request.size', 1, 'INT64')
      .set('destination.port', 8080)
      .set('request.size', 2);
    const flat = statics().set('request.path', '/a').set('request.size', 1, 'INT64').set('destination.port', 8080);
    flat.set('request.size', 2);
    expect(view(layered)).toEqual(view(flat));
    expect(layered.typeOf('destination.port')).toBeUndefined();
    expect(layered.size).toBe(5);
    expect(layered.sharedBase()).toBeNull();
  });

  it('add (a name not set yet) reads like set, a base name still unsharing the base', () => {
    const added = new SlotBag(statics()).add('request.path', '/a').add('request.size', 1, 'INT64');
    const set = new SlotBag(statics()).set('request.path', '/a').set('request.size', 1, 'INT64');
    expect(view(added)).toEqual(view(set));
    expect(added.sharedBase()).not.toBeNull();
    expect(added.baseHas('destination.port')).toBe(true);
    expect(added.baseHas('request.path')).toBe(false);
    added.add('destination.port', 8080);
    set.set('destination.port', 8080);
    expect(view(added)).toEqual(view(set));
    expect(added.sharedBase()).toBeNull();
  });

  it('without a base, or over an empty one, and copied through the Bag constructor', () => {
    const alone = new SlotBag().set('request.path', '/a');
    const overEmpty = new SlotBag(new MutableBag()).set('request.path', '/a');
    for (const b of [alone, overEmpty]) {
      expect(b.sharedBase()).toBeNull();
      expect(view(b)).toEqual([['request.path', '/a', undefined]]);
      expect(b.size).toBe(1);
    }
    const layered = new SlotBag(statics()).set('request.path', '/a');
    expect(view(new MutableBag(layered))).toEqual(view(layered));
  });
});
