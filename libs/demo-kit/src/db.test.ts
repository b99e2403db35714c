import { join } from 'node:path';
import { openSql } from './db';
import { startDemoProcess } from './spawn';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

test('PGlite in memory (in a child process: PGlite needs real dynamic import)', async () => {
  const proc = await startDemoProcess(join(__dirname, '__fixtures__/pglite-check.ts'));
  await proc.stop();
  const line = JSON.parse(proc.logs.find((l) => l.includes('"kind"')) as string);
  expect(line).toMatchObject({ kind: 'pglite', rows: [{ name: 'a' }] });
});

test('Postgres: schema per service via search_path, dropped afterwards', async () => {
  const schema = `kit_${process.pid}_${Date.now()}`;
  const db = await openSql({ databaseUrl: DATABASE_URL, schema });
  try {
    expect(db.kind).toBe('postgres');
    await db.exec('CREATE TABLE t (id serial primary key, name text)');
    await db.query('INSERT INTO t (name) VALUES ($1)', ['a']);
    expect(await db.query(`SELECT name FROM ${schema}.t`)).toEqual([{ name: 'a' }]);
  } finally {
    await db.dropSchema();
    await db.close();
  }
});

test('invalid schema names are refused', async () => {
  await expect(openSql({ schema: 'x; drop' })).rejects.toThrow(/invalid schema name/);
});
