import { propagateHeaders } from './trace';

test('copies only the trace and user headers', () => {
  expect(
    propagateHeaders({
      'x-request-id': 'r1',
      'x-b3-traceid': 't',
      'x-b3-spanid': 's',
      'end-user': 'jason',
      b3: ['a', 'b'],
      cookie: 'user=jason',
      'x-b3-flags': '',
    }),
  ).toEqual({ 'x-request-id': 'r1', 'x-b3-traceid': 't', 'x-b3-spanid': 's', 'end-user': 'jason', b3: 'a' });
});
