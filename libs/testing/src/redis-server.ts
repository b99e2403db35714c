/**
 * A private `redis-server` on a loopback port, for tests that stop Redis midway: the shared
 * Redis at REDIS_URL is never touched. No persistence; killed with SIGKILL.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { freePort } from './ports';
import { waitFor } from './wait';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** SIGKILL; resolves once the process has exited. */
  kill(): Promise<void>;
}

/** Whether a `redis-server` binary is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** One PING over a fresh connection: true on `+PONG`. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * Starts `redis-server` on `port` (a free one when omitted; pass the port of a killed server to
 * bring Redis back at the same address) and resolves once it answers PING.
 */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const p = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  let failure: Error | undefined;
  // a binary that cannot start emits 'error' and may never emit 'exit'
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (e) => {
      failure = e;
      resolve();
    });
  });
  const server: RedisServer = {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    const state = await waitFor(
      async () => {
        if (failure || child.exitCode !== null) return 'gone';
        return (await pings(p)) && 'ready';
      },
      { timeoutMs: 10_000, what: `redis-server on 127.0.0.1:${p}` },
    );
    if (state === 'gone')
      throw new Error(`redis-server on 127.0.0.1:${p} did not start: ${failure?.message ?? `exit ${child.exitCode}`}`);
  } catch (e) {
    await server.kill();
    throw e;
  }
  return server;
}
