import { searchPathFromOptions } from './sessions';

describe('searchPathFromOptions', () => {
  it('reads -c search_path=… as pg sends it, and --search_path=…', () => {
    expect(searchPathFromOptions('-c search_path=order')).toBe('order');
    expect(searchPathFromOptions('-c statement_timeout=5s -c search_path=a,public')).toBe('a,public');
    expect(searchPathFromOptions('--search_path=shipping')).toBe('shipping');
    expect(searchPathFromOptions('-csearch_path=x\\ y')).toBe('x y');
  });
  it('is undefined without one', () => {
    expect(searchPathFromOptions(undefined)).toBeUndefined();
    expect(searchPathFromOptions('-c statement_timeout=5s')).toBeUndefined();
  });
});
