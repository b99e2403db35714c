// Runs openSql against embedded PGlite in a real process and reports the rows.
import { openSql } from '../db';

void (async () => {
  const db = await openSql({ schema: 'kit_test' });
  await db.exec('CREATE TABLE t (id serial primary key, name text)');
  await db.query('INSERT INTO t (name) VALUES ($1)', ['a']);
  const rows = await db.query('SELECT name FROM kit_test.t');
  await db.dropSchema();
  await db.close();
  console.log(JSON.stringify({ msg: 'listening', address: 'n/a', kind: db.kind, rows }));
})();
