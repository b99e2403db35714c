// The article's book/rating through the sidecars: /book/1, all traffic to rating v1, then v2.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
// Pilot + sidecars (the gateway has its own suite, gateway.int.test.ts): calls enter at the pod's
// service port, which the sidecar's inbound listener owns.
const { mesh, reason } = startMesh('bookrating', {
  needed: ['pilot', 'proxy'],
  extraArgs: ['--without', 'gateway,mixer,citadel'],
});
if (reason) skipNotice('bookrating e2e', reason);
const d = mesh ? describe : describe.skip;

d('book/rating through the mesh', () => {
  const m = mesh as NonNullable<typeof mesh>;
  const book = () => request(`${m.entry('book-service', 8080)}/book/1`);
  afterAll(() => m.down());

  test('GET /book/1 through the sidecars', async () => {
    const res = await eventually(book, (r) => r.status === 200);
    expect(JSON.parse(res.body)).toMatchObject({ bookId: 1, name: 'Book 1' });
  });

  test('virtual-service-v1 sends every rating call to v1', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/destination-rule-v1-v2.yaml').code).toBe(0);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/virtual-service-v1.yaml').code).toBe(0);
    await eventually(book, (r) => r.body === '{"bookId":1,"name":"Book 1","rating":1}');
    const ratings = new Set<string>();
    for (let i = 0; i < 10; i++) ratings.add((await book()).body);
    expect([...ratings]).toEqual(['{"bookId":1,"name":"Book 1","rating":1}']);
  });

  test('virtual-service-v2 sends every rating call to v2 (its rating is fixed at start-up)', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/virtual-service-v2.yaml').code).toBe(0);
    const v2 = await eventually(book, (r) => r.status === 200 && r.body !== '{"bookId":1,"name":"Book 1","rating":1}');
    const ratings = new Set<string>();
    for (let i = 0; i < 10; i++) ratings.add((await book()).body);
    expect([...ratings]).toEqual([v2.body]);
  });
});
