import { parseAtomFeed, renderAtomFeed } from './atom';

test('feed round-trips through writer and reader', () => {
  const xml = renderAtomFeed({
    id: 'urn:order',
    title: 'Orders',
    updated: '2026-01-01T00:00:00Z',
    entries: [{ id: 'urn:order:1', title: 'Order 1 & co', updated: '2026-01-01T00:00:00Z', href: '/order/1' }],
  });
  expect(parseAtomFeed(xml)).toEqual({
    updated: '2026-01-01T00:00:00Z',
    entries: [{ id: 'urn:order:1', title: 'Order 1 & co', updated: '2026-01-01T00:00:00Z', href: '/order/1' }],
  });
  expect(() => parseAtomFeed('<html></html>')).toThrow(/not an Atom feed/);
});
