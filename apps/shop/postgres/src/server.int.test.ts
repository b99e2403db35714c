// The shop's shared embedded database as a real process: `pg` clients with their own schema
// (search_path in the start-up options, as demo-kit's pools set it) share one PGlite database.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { startDemoProcess, type DemoProcess } from '@tsmesh/demo-kit';

const entry = join(__dirname, 'main.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'shop-postgres-'));
let server: DemoProcess;
const pools: Pool[] = [];
const url = () => `postgres://postgres@${server.address}/postgres`;
const pool = (schema: string) => {
  const p = new Pool({ connectionString: url(), max: 4, options: `-c search_path=${schema}` });
  // Idle clients see the server restart in the last test; a pool without a listener would throw.
  p.on('error', () => undefined);
  pools.push(p);
  return p;
};

beforeAll(async () => {
  server = await startDemoProcess(entry, { args: ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir] });
}, 60_000);
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('each client keeps its own schema (search_path from its start-up options) in one database', async () => {
  const schemas = ['order', 'shipping', 'invoicing'];
  const byPool = schemas.map((s) => [s, pool(s)] as const);
  for (const [s, p] of byPool) {
    await p.query(`CREATE SCHEMA IF NOT EXISTS "${s}"`);
    await p.query('CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, owner text NOT NULL)');
  }
  // Interleaved from all pools at once: the same unqualified table name resolves per client.
  await Promise.all(
    byPool.flatMap(([s, p]) => Array.from({ length: 10 }, () => p.query('INSERT INTO items (owner) VALUES ($1)', [s]))),
  );
  for (const [s, p] of byPool) {
    const rows = (await p.query<{ owner: string }>('SELECT owner FROM items')).rows;
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => r.owner))).toEqual(new Set([s]));
  }
  const c = new Client({ connectionString: url() });
  await c.connect();
  const tables = await c.query<{ table_schema: string; table_catalog: string }>(
    "SELECT table_schema, table_catalog FROM information_schema.tables WHERE table_name = 'items' ORDER BY 1",
  );
  expect(tables.rows.map((r) => r.table_schema)).toEqual(['invoicing', 'order', 'shipping']);
  expect(new Set(tables.rows.map((r) => r.table_catalog)).size).toBe(1);
  await c.end();
});

test("a client's transaction is its own: another client's writes in between are not rolled back with it", async () => {
  const a = new Client({ connectionString: url(), options: '-c search_path=ta' });
  const b = new Client({ connectionString: url(), options: '-c search_path=tb' });
  await a.connect();
  await b.connect();
  await a.query('CREATE SCHEMA IF NOT EXISTS ta; CREATE TABLE IF NOT EXISTS ta.x (v int)');
  await b.query('CREATE SCHEMA IF NOT EXISTS tb; CREATE TABLE IF NOT EXISTS tb.x (v int)');
  await a.query('BEGIN');
  await a.query('INSERT INTO x VALUES (1)');
  // b waits for a's transaction to end, then runs in its own.
  const bInsert = b.query('INSERT INTO x VALUES (2)');
  await a.query('ROLLBACK');
  await bInsert;
  expect((await a.query('SELECT v FROM x')).rows).toEqual([]);
  expect((await b.query('SELECT v FROM x')).rows).toEqual([{ v: 2 }]);
  // A client that disconnects inside a transaction has it rolled back; the others go on.
  await a.query('BEGIN');
  await a.query('INSERT INTO x VALUES (3)');
  await a.end();
  expect((await b.query('SELECT count(*)::int AS n FROM ta.x')).rows).toEqual([{ n: 0 }]);
  // Errors reach the client as Postgres errors, and the session stays usable.
  await expect(b.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
  expect((await b.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  await b.end();
});

test('data survives a restart on the same data directory', async () => {
  const p = pool('keep');
  await p.query('CREATE SCHEMA IF NOT EXISTS keep');
  await p.query('CREATE TABLE IF NOT EXISTS kept (v text)');
  await p.query("INSERT INTO kept VALUES ('before restart')");
  await p.end();
  pools.splice(pools.indexOf(p), 1);
  expect(await server.stop()).toBe(0);
  server = await startDemoProcess(entry, { args: ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir] });
  const again = pool('keep');
  expect((await again.query('SELECT v FROM kept')).rows).toEqual([{ v: 'before restart' }]);
}, 60_000);

test('a malformed start-up gets a FATAL protocol error and the server keeps serving', async () => {
  const [host, port] = server.address.split(':');
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect(Number(port), host, () => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 3, 0, 0])));
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
  expect(String.fromCharCode(reply[0])).toBe('E');
  expect(reply.toString('latin1')).toContain('08P01');
  expect(reply.toString('latin1')).toContain('invalid message length');
  const c = new Client({ connectionString: url() });
  await c.connect();
  expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  await c.end();
});
