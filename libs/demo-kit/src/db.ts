/**
 * SQL for the shop demo: one PostgreSQL database, one schema per service. With
 * a `DATABASE_URL` it uses `pg` (a pool whose sessions default to the
 * service's schema); without one it runs embedded PGlite (in memory, or in a
 * data directory), so the demo works with nothing installed.
 */
import { Pool } from 'pg';
import { PGlite } from '@electric-sql/pglite';

export interface SqlDb {
  readonly schema: string;
  readonly kind: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs several `;`-separated statements (no parameters). */
  exec(sql: string): Promise<void>;
  /** Drops the schema and everything in it (tests). */
  dropSchema(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenSqlOptions {
  databaseUrl?: string;
  /** PGlite data directory; empty means in memory. */
  dataDir?: string;
  schema: string;
}

const quoteIdent = (s: string) => {
  if (!/^[a-z_][a-z0-9_]*$/i.test(s)) throw new Error(`invalid schema name ${JSON.stringify(s)}`);
  return `"${s}"`;
};

export async function openSql(options: OpenSqlOptions): Promise<SqlDb> {
  const schema = quoteIdent(options.schema);
  if (options.databaseUrl) {
    const pool = new Pool({
      connectionString: options.databaseUrl,
      max: 4,
      options: `-c search_path=${options.schema}`,
    });
    pool.on('error', () => undefined);
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    return {
      schema: options.schema,
      kind: 'postgres',
      async query<T>(sql: string, params: unknown[] = []) {
        return (await pool.query(sql, params)).rows as T[];
      },
      async exec(sql: string) {
        await pool.query(sql);
      },
      async dropSchema() {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      },
      close: () => pool.end(),
    };
  }
  const db = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema};`);
  return {
    schema: options.schema,
    kind: 'pglite',
    async query<T>(sql: string, params: unknown[] = []) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async dropSchema() {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
    close: () => db.close(),
  };
}
