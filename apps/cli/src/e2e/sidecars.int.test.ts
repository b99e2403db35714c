// The demos through Pilot + sidecars, on one mesh with Citadel identities (`--without gateway,mixer`; the gateway
// has its own suite, gateway.int.test.ts). Calls enter at a pod's service port, which its sidecar's
// inbound listener owns; everything after that goes sidecar to sidecar.
import { Client } from 'pg';
import { eventually, request, settled, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('sidecars', {
  needed: ['pilot', 'proxy'],
  extraArgs: ['--without', 'gateway,mixer'],
});
if (reason) skipNotice('sidecar e2e (bookinfo, shop, book/rating)', reason);
const d = mesh ? describe : describe.skip;
const m = mesh as NonNullable<typeof mesh>;
afterAll(() => mesh?.down());

// Bookinfo through the sidecars: the page, user-based routing to reviews v2,
// weighted routing to v3, fault injection on ratings.
d('bookinfo through the mesh', () => {
  // the pod's address, looked up once (m.entry runs `tsmesh status`, a process start per call)
  let productpage: string | undefined;
  const page = (user?: string) => {
    productpage ??= `${m.entry('productpage-v1', 9080)}/productpage`;
    return request(productpage, { headers: user ? { cookie: `user=${user}` } : {} });
  };

  test('the product page is served through its sidecar, calling details and reviews through sidecars', async () => {
    const res = await eventually(
      () => page(),
      (r) => r.status === 200,
    );
    expect(res.body).toContain('The Comedy of Errors');
    expect(res.body).toContain('William Shakespeare');
  });

  test('end-user jason is routed to reviews v2 (black stars), everyone else to v1', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/destination-rule-all.yaml').code).toBe(0);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/virtual-service-reviews-jason-v2.yaml').code).toBe(0);
    const jason = await eventually(
      () => page('jason'),
      (r) => r.body.includes('color="black"'),
    );
    expect(jason.body).toMatch(/reviews-v2-[0-9a-f]{5}/);
    const anon = await eventually(
      () => page(),
      (r) => /reviews-v1-/.test(r.body),
    );
    expect(anon.body).not.toContain('full stars');
  });

  test('ratings abort for jason shows "Ratings service is currently unavailable"', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/virtual-service-ratings-abort.yaml').code).toBe(0);
    const res = await eventually(
      () => page('jason'),
      (r) => r.body.includes('Ratings service is currently unavailable'),
    );
    expect(res.body).toContain('Ratings service is currently unavailable');
    expect(tsmesh(m.stateDir, 'delete', '-f', 'samples/bookinfo/virtual-service-ratings-abort.yaml').code).toBe(0);
  });

  test('all reviews traffic to v3 gives red stars', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/virtual-service-reviews-v3.yaml').code).toBe(0);
    const res = await eventually(
      () => page(),
      (r) => r.body.includes('color="red"'),
    );
    expect(res.body).toMatch(/reviews-v3-[0-9a-f]{5}/);
  });

  test("the workshop's 50% split: v1 and v3 each serve about half of 200 page views", async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/virtual-service-reviews-50-v3.yaml').code).toBe(0);
    await eventually(
      () => page(),
      (r) => /reviews-v1-/.test(r.body),
    );
    let v3 = 0;
    for (let i = 0; i < 200; i++) if ((await page()).body.includes('full stars')) v3++;
    // binomial(200, 0.5): outside 70..130 (±30, more than 4 standard deviations) has a probability
    // below 5e-5
    expect(v3).toBeGreaterThanOrEqual(70);
    expect(v3).toBeLessThanOrEqual(130);
  });
});

// The chapter's shop through the sidecars: an order created at order, shipping polling order through
// sidecars, fault-injection.yaml making the poll fail while shipping keeps serving.
d('shop through the mesh', () => {
  const order = () => m.entry('order', 8080);
  const shipping = () => m.entry('shipping', 8080);
  const poll = () => request(`${shipping()}/shipping/poll`, { method: 'POST' });

  test('home, an order created at order, shipping polls it through the sidecars', async () => {
    const home = await eventually(
      () => request(`${m.entry('home', 8080)}/`),
      (r) => r.status === 200,
    );
    expect(home.body).toContain('href="/order/"');
    const created = await request(`${order()}/order`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        customer: 'Ada',
        street: 'S',
        zip: '1',
        city: 'London',
        lines: [{ item: 'iPod', count: 1 }],
      }),
    });
    expect(created.status).toBe(201);
    const polled = await eventually(poll, (r) => r.status === 200);
    expect(JSON.parse(polled.body)).toMatchObject({ ok: true });
    const list = await request(`${shipping()}/shipping`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(list.body).shipments.map((s: { customer: string }) => s.customer)).toContain('Ada');
  });

  test('fault-injection.yaml: polling order fails with 500 and shipping shows the error', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/shop/fault-injection.yaml').code).toBe(0);
    const failed = await eventually(poll, (r) => r.status === 502);
    expect(JSON.parse(failed.body).error).toMatch(/500/);
    expect((await request(`${shipping()}/shipping`)).status).toBe(200);
    expect(tsmesh(m.stateDir, 'delete', '-f', 'samples/shop/fault-injection.yaml').code).toBe(0);
    await eventually(poll, (r) => r.status === 200);
  });

  test('one database: the postgres pod (PGlite, or DATABASE_URL when set) holds the order, shipping, invoicing and bonus schemas; a restarted order keeps its data', async () => {
    const st = JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as {
      processes: { name: string; pid: number; ip: string; status: string }[];
    };
    const pg = st.processes.find((p) => p.name === 'postgres');
    const real = process.env['DATABASE_URL'];
    // With DATABASE_URL (CI) the shop uses that PostgreSQL and the stand-in is not run.
    if (real) expect(pg).toBeUndefined();
    else expect(pg?.status).toBe('ready');
    expect(st.processes.find((p) => p.name === 'postgres.sidecar')).toBeUndefined();
    const url = real ?? `postgres://postgres@${pg?.ip}:5432/postgres`;
    const dbName = new URL(url).pathname.slice(1) || 'postgres';
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const tables = await db.query<{ table_schema: string; table_name: string; table_catalog: string }>(
        `SELECT table_schema, table_name, table_catalog FROM information_schema.tables
          WHERE table_schema IN ('order', 'shipping', 'invoicing', 'bonus') ORDER BY 1, 2`,
      );
      expect(tables.rows.map((r) => `${r.table_schema}.${r.table_name}`)).toEqual(
        expect.arrayContaining(['order.orders', 'order.order_lines', 'shipping.shipments', 'invoicing.invoices']),
      );
      expect(new Set(tables.rows.map((r) => r.table_catalog))).toEqual(new Set([dbName]));
      expect((await db.query('SELECT customer FROM "order".orders')).rows).toContainEqual({ customer: 'Ada' });
      expect((await db.query('SELECT customer FROM shipping.shipments')).rows).toContainEqual({ customer: 'Ada' });
    } finally {
      await db.end();
    }
    // Kill order; the supervisor restarts it and it finds its orders in the shared database.
    const before = st.processes.find((p) => p.name === 'order');
    process.kill(before?.pid as number, 'SIGKILL');
    await eventually(
      async () =>
        (JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as typeof st).processes.find((p) => p.name === 'order'),
      (p) => !!p && p.pid !== before?.pid && p.status === 'ready',
      60_000,
    );
    const list = await eventually(
      () => request(`${order()}/order`, { headers: { accept: 'application/json' } }),
      (r) => r.status === 200,
    );
    expect(list.body).toContain('Ada');
  });

  test('failing-order-service.yaml restarts order with FAILRANDOMLY; retry.yaml makes polling reliable again', async () => {
    const pidOf = () =>
      (
        JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as {
          processes: { name: string; pid: number; status: string }[];
        }
      ).processes.find((p) => p.name === 'order');
    const before = pidOf()?.pid;
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/shop/failing-order-service.yaml').code).toBe(0);
    await eventually(
      async () => pidOf(),
      (p) => !!p && p.pid !== before && p.status === 'ready',
      60_000,
    );
    // order now fails half of its requests; the mesh retries them (20 attempts, 5 s each, 10 s overall)
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/shop/retry.yaml').code).toBe(0);
    await eventually(poll, (r) => r.status === 200);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await poll()).status);
    expect(statuses).toEqual(Array(8).fill(200));
  });
});

// The article's book/rating through the sidecars: /book/1, all traffic to rating v1, then v2.
d('book/rating through the mesh', () => {
  const book = () => request(`${m.entry('book-service', 8080)}/book/1`);

  test('GET /book/1 through the sidecars', async () => {
    const res = await eventually(book, (r) => r.status === 200);
    expect(JSON.parse(res.body)).toMatchObject({ bookId: 1, name: 'Book 1' });
  });

  test('virtual-service-v1 sends every rating call to v1', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/destination-rule-v1-v2.yaml').code).toBe(0);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/virtual-service-v1.yaml').code).toBe(0);
    await settled(book, (r) => r.body === '{"bookId":1,"name":"Book 1","rating":1}');
    const ratings = new Set<string>();
    for (let i = 0; i < 10; i++) ratings.add((await book()).body);
    expect([...ratings]).toEqual(['{"bookId":1,"name":"Book 1","rating":1}']);
  });

  test('the canary virtual-service-v1-v2-75-25: a quarter of 200 calls go to v2, counted by the sidecar', async () => {
    // Which subset served a call is read off book-service's own sidecar: its Envoy stats count the
    // requests per outbound subset cluster, so the check does not depend on v2's random rating.
    // (addresses looked up once: m.entry runs `tsmesh status`, a process start per call)
    const admin = m.entry('book-service', 15000);
    const bookUrl = `${m.entry('book-service', 8080)}/book/1`;
    const call = () => request(bookUrl);
    const sent = async () => {
      const body = (await request(`${admin}/stats`)).body;
      const count = (subset: string) =>
        Number(
          new RegExp(
            `^cluster\\.outbound\\|8080\\|${subset}\\|rating\\.default\\.svc\\.cluster\\.local\\.upstream_rq_total: (\\d+)$`,
            'm',
          ).exec(body)?.[1] ?? 0,
        );
      return { v1: count('version-v1'), v2: count('version-v2') };
    };
    const own = JSON.parse((await request(`${m.entry('rating-service-v2', 8080)}/rate/1`)).body) as { rating: number };
    // The subsets come from the DestinationRule (applied again so the test also runs alone: without it the
    // subset clusters do not exist and every rating call fails).
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/destination-rule-v1-v2.yaml').code).toBe(0);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/virtual-service-v1-v2-75-25.yaml').code).toBe(0);
    // The split is live once a call has gone to v2 (the VirtualService before sent everything to v1).
    const start = await sent();
    await eventually(
      async () => {
        await call();
        return sent();
      },
      (c) => c.v2 > start.v2,
    );
    const before = await sent();
    let v2Bodies = 0;
    for (let i = 0; i < 200; i++) {
      const res = await call();
      expect(res.status).toBe(200);
      if (res.body.includes(`"rating":${own.rating}`)) v2Bodies++;
    }
    const after = await sent();
    const v1 = after.v1 - before.v1;
    const v2 = after.v2 - before.v2;
    expect(v1 + v2).toBe(200);
    // binomial(200, 0.25): mean 50, sd 6.1; outside 25..75 (over 4 sd) has a probability below 1e-4
    expect(v2).toBeGreaterThanOrEqual(25);
    expect(v2).toBeLessThanOrEqual(75);
    // The answers agree with the counters when v2's rating differs from v1's fixed 1.
    if (own.rating !== 1) expect(v2Bodies).toBe(v2);
  });

  test('virtual-service-v2 sends every rating call to v2 (its rating is fixed at start-up)', async () => {
    // v2's own answer, asked at its pod (through its sidecar's inbound listener)
    const own = JSON.parse((await request(`${m.entry('rating-service-v2', 8080)}/rate/1`)).body) as { rating: number };
    const expected = JSON.stringify({ bookId: 1, name: 'Book 1', rating: own.rating });
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/virtual-service-v2.yaml').code).toBe(0);
    await settled(book, (r) => r.body === expected);
    const ratings = new Set<string>();
    for (let i = 0; i < 10; i++) ratings.add((await book()).body);
    expect([...ratings]).toEqual([expected]);
  });
  test("the article's retries: with v2 misbehaving (503), retry on 5xx answers every call from v1", async () => {
    const v2 = m.entry('rating-service-v2', 8080);
    expect((await request(`${v2}/rate/misbehave`)).body).toBe('Ratings endpoint returns 503 error.');
    try {
      expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/virtual-service-retry.yaml').code).toBe(0);
      await eventually(book, (r) => r.status === 200 && r.body === '{"bookId":1,"name":"Book 1","rating":1}');
      const answers = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const r = await book();
        answers.add(`${r.status} ${r.body}`);
      }
      expect([...answers]).toEqual(['200 {"bookId":1,"name":"Book 1","rating":1}']);
    } finally {
      await request(`${v2}/rate/behave`);
    }
  });
});
