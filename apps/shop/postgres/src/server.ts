/**
 * The shop's one PostgreSQL database when no real one is given: embedded PGlite (data in a
 * directory) served over the Postgres wire protocol on a TCP address, so every shop service
 * connects with `pg` and keeps its own schema, as it would against a real server. The server
 * answers the connection start-up itself (SSL refused, no authentication, as the manifest's
 * `POSTGRES_HOST_AUTH_METHOD: trust`); after that each client's frontend messages go to PGlite,
 * one client's unit of work at a time (`SessionScheduler`).
 */
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import type { DemoLogger } from '@tsmesh/demo-kit';
import { SessionScheduler, searchPathFromOptions } from './sessions';
import { FrameReader, PROTOCOL_3, errorResponse, parseStartup, startupReply } from './wire';

/** Frontend message types that end a unit of work (Sync, simple Query, CopyDone, CopyFail). */
const BATCH_END = new Set(['S', 'Q', 'c', 'f']);

export interface PgServer {
  address: string;
  stop(): Promise<void>;
}

export async function startPgServer(o: {
  host: string;
  port: number;
  /** PGlite data directory; empty keeps the database in memory. */
  dataDir: string;
  logger: DemoLogger;
}): Promise<PgServer> {
  if (o.dataDir) mkdirSync(o.dataDir, { recursive: true });
  const db = o.dataDir ? new PGlite(o.dataDir) : new PGlite();
  await db.waitReady;
  const settings = async (name: string) =>
    (await db.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]?.v ?? '';
  // What a real server reports at start-up (pg reads server_version, integer_datetimes, …).
  const reported: Record<string, string> = {
    server_version: await settings('server_version'),
    server_encoding: await settings('server_encoding'),
    client_encoding: 'UTF8',
    DateStyle: await settings('DateStyle'),
    integer_datetimes: 'on',
    standard_conforming_strings: await settings('standard_conforming_strings'),
    TimeZone: await settings('TimeZone'),
  };
  const sessions = new SessionScheduler(db);
  const sockets = new Set<net.Socket>();

  const serve = (socket: net.Socket) => {
    sockets.add(socket);
    const reader = new FrameReader();
    let client: number | null = null;
    let pending: Buffer[] = [];
    let chain = Promise.resolve();
    const fail = (code: string, text: string) => {
      if (socket.writable) socket.end(errorResponse('FATAL', code, text));
      else socket.destroy();
    };
    const onPacket = async (packet: Buffer): Promise<void> => {
      if (!reader.started) {
        const p = parseStartup(packet);
        // No TLS or GSS encryption here ('N'); cancelling a running query is not supported.
        if (p.kind !== 'startup') return void (p.kind === 'cancel' ? socket.end() : socket.write('N'));
        if (p.version !== PROTOCOL_3)
          return fail('0A000', `unsupported frontend protocol ${p.version >> 16}.${p.version & 0xffff}`);
        reader.started = true;
        client = sessions.open(searchPathFromOptions(p.params['options']));
        o.logger.debug({ client, user: p.params['user'], database: p.params['database'] }, 'client connected');
        return void socket.write(startupReply(reported, client, randomInt(2 ** 31)));
      }
      const type = String.fromCharCode(packet[0]);
      if (type === 'X') return void socket.end();
      if (client === null) return;
      pending.push(packet);
      if (!BATCH_END.has(type)) return;
      const batch = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending = [];
      const reply = await sessions.run(client, batch);
      if (reply.length > 0 && socket.writable) socket.write(reply);
    };
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      // Packets of one client are handled in order; the scheduler interleaves clients.
      chain = chain.then(async () => {
        try {
          for (let p = reader.next(); p; p = reader.next()) await onPacket(p);
        } catch (err) {
          o.logger.warn({ client, err: err instanceof Error ? err.message : String(err) }, 'closing client');
          fail('08P01', err instanceof Error ? err.message : String(err));
        }
      });
    });
    socket.on('error', (err) => o.logger.debug({ client, err: err.message }, 'client socket error'));
    socket.on('close', () => {
      sockets.delete(socket);
      if (client !== null) void sessions.close(client);
      client = null;
    });
  };

  const server = net.createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  o.logger.info({ listener: 'postgres', address, dataDir: o.dataDir || null }, 'listening');
  return {
    address,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await db.close();
    },
  };
}
