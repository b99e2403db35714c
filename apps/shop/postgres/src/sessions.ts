/**
 * Many client sessions on one embedded PGlite backend. PGlite is a single Postgres session, so
 * the wire server gives each client its turn: a unit of work is one frontend batch up to a
 * `Sync` or a simple `Query` (so an extended-protocol Parse/Bind/Execute never interleaves with
 * another client's), a client inside a transaction keeps the backend until it commits or rolls
 * back, and before a client's batch runs its own `search_path` (from its startup `options`, or a
 * `SET search_path` it ran) is put back. That is what lets each shop service keep its schema in
 * the one database. Other session state (prepared statement names, temp tables, other GUCs) is
 * shared by all clients; the shop's `pg` pools use none of it.
 */

/** The part of PGlite the scheduler needs (a fake in unit tests). */
export interface Backend {
  execProtocolRaw(message: Uint8Array): Promise<Uint8Array>;
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  isInTransaction(): boolean;
}

interface Batch {
  client: number;
  message: Uint8Array;
  done(result: Uint8Array): void;
  failed(err: unknown): void;
}

export const DEFAULT_SEARCH_PATH = '"$user", public';

/** `-c search_path=x` / `--search_path=x` in a startup `options` parameter (Postgres' own syntax). */
export function searchPathFromOptions(options: string | undefined): string | undefined {
  if (!options) return undefined;
  const m = /(?:^|\s)(?:-c\s*|--)search_path=((?:\\.|\S)+)/.exec(options);
  return m ? m[1].replace(/\\(.)/g, '$1') : undefined;
}

const SEARCH_PATH_BYTES = Buffer.from('search_path');

export class SessionScheduler {
  private readonly queue: Batch[] = [];
  private readonly paths = new Map<number, string>();
  private nextId = 1;
  /** The client whose search_path the backend has now. */
  private current: number | null = null;
  /** The client inside an open transaction: only its batches run until it ends. */
  private owner: number | null = null;
  private running = false;

  constructor(private readonly db: Backend) {}

  /** Registers a client session; returns its id. */
  open(searchPath = DEFAULT_SEARCH_PATH): number {
    const id = this.nextId++;
    this.paths.set(id, searchPath);
    return id;
  }

  /** Runs one batch of frontend messages for `client`; resolves with the backend's reply bytes. */
  run(client: number, message: Uint8Array): Promise<Uint8Array> {
    return new Promise((done, failed) => {
      this.queue.push({ client, message, done, failed });
      void this.pump();
    });
  }

  /** The client went away: its queued batches are dropped and an open transaction of it rolled back. */
  async close(client: number): Promise<void> {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].client !== client) continue;
      this.queue[i].failed(new Error('client closed'));
      this.queue.splice(i, 1);
    }
    this.paths.delete(client);
    if (this.owner === client) {
      // A batch of this client may still be running; queue the rollback behind it.
      await this.run(client, ROLLBACK).catch(() => undefined);
      this.owner = null;
      void this.pump();
    }
    if (this.current === client) this.current = null;
  }

  /** Batches waiting (not counting the one running). */
  get pending(): number {
    return this.queue.length;
  }

  private next(): Batch | undefined {
    const i = this.owner === null ? 0 : this.queue.findIndex((b) => b.client === this.owner);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  /** PGlite takes one frontend message per call: feed the batch message by message. */
  private async execBatch(batch: Uint8Array): Promise<Uint8Array> {
    const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
    const replies: Uint8Array[] = [];
    for (let at = 0; at + 5 <= buf.length;) {
      const end = at + 1 + buf.readUInt32BE(at + 1);
      replies.push(await this.db.execProtocolRaw(batch.subarray(at, end)));
      at = end;
    }
    return replies.length === 1 ? replies[0] : Buffer.concat(replies);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let b = this.next(); b; b = this.next()) {
        try {
          if (this.current !== b.client) {
            const path = this.paths.get(b.client) ?? DEFAULT_SEARCH_PATH;
            await this.db.query("SELECT set_config('search_path', $1, false)", [path]);
            this.current = b.client;
          }
          const reply = await this.execBatch(b.message);
          if (Buffer.from(b.message.buffer, b.message.byteOffset, b.message.byteLength).includes(SEARCH_PATH_BYTES)) {
            const [row] = (await this.db.query<{ p: string }>("SELECT current_setting('search_path') AS p")).rows;
            if (row && this.paths.has(b.client)) this.paths.set(b.client, row.p);
          }
          this.owner = this.db.isInTransaction() ? b.client : null;
          b.done(reply);
        } catch (err) {
          this.owner = this.db.isInTransaction() ? b.client : null;
          b.failed(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** A simple-protocol `ROLLBACK` query message. */
const ROLLBACK = (() => {
  const sql = Buffer.from('ROLLBACK\0');
  const m = Buffer.alloc(5 + sql.length);
  m.write('Q', 0);
  m.writeInt32BE(4 + sql.length, 1);
  sql.copy(m, 5);
  return new Uint8Array(m);
})();
