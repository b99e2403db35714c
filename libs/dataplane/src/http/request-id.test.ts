import { requestId } from './request-id';

describe('requestId', () => {
  it('is a version 4 UUID in lower-case 8-4-4-4-12 form', () => {
    for (let i = 0; i < 600; i++) {
      expect(requestId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('does not repeat across pool refills', () => {
    const seen = new Set<string>();
    // 256 ids per fill: this crosses several refills.
    for (let i = 0; i < 2000; i++) seen.add(requestId());
    expect(seen.size).toBe(2000);
  });
});
