/**
 * Fastify bootstrap shared by the demo apps: JSON log lines on stdout, health
 * endpoints, one log line per request, form parsing, the workspace's
 * `{"msg":"listening","listener":"http","address":...}` line, and a graceful
 * stop (in-flight requests finish) on SIGTERM/SIGINT.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { DemoSettingError, parseDemoSettings, renderDemoHelp, type DemoSettings, type DemoSpecs } from './settings';

export type DemoLogger = pino.Logger;

export function createDemoLogger(app: string, level = 'info', destination?: pino.DestinationStream): DemoLogger {
  return pino(
    {
      level,
      base: { app },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

export interface DemoServerOptions {
  app: string;
  logger?: DemoLogger;
  logLevel?: string;
}

export interface DemoServer {
  fastify: FastifyInstance;
  logger: DemoLogger;
  /** `/ready` answers 503 until this is true (set after listen, cleared on stop). */
  setReady(ready: boolean): void;
}

export function createDemoServer(options: DemoServerOptions): DemoServer {
  const logger = options.logger ?? createDemoLogger(options.app, options.logLevel);
  const fastify = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  let ready = false;
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  fastify.addHook('onResponse', async (req, reply) => {
    if (req.url === '/health' || req.url === '/ready') return;
    req.log.info(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  fastify.get('/health', async () => ({ status: 'UP' }));
  fastify.get('/ready', async (_req, reply) => {
    if (!ready) return reply.code(503).send({ status: 'NOT_READY' });
    return { status: 'READY' };
  });
  return { fastify, logger, setReady: (r) => (ready = r) };
}

/** Listens and logs the `listening` line; returns `host:port`. */
export async function listenDemo(server: DemoServer, host: string, port: number): Promise<string> {
  await server.fastify.listen({ host, port });
  const addr = server.fastify.server.address() as AddressInfo;
  const shownHost = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
  const address = `${addr.family === 'IPv6' && shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${addr.port}`;
  server.logger.info({ listener: 'http', address }, 'listening');
  server.setReady(true);
  return address;
}

export interface RunningDemo {
  address: string;
  stop(): Promise<void>;
}

/** Starts a demo server built by `build`; stop flips /ready, drains, and closes. */
export async function startDemo(
  server: DemoServer,
  host: string,
  port: number,
  onStop?: () => Promise<void>,
): Promise<RunningDemo> {
  const address = await listenDemo(server, host, port);
  return {
    address,
    async stop() {
      server.setReady(false);
      await server.fastify.close();
      if (onStop) await onStop();
    },
  };
}

/**
 * Process entry for a demo app: parse flags/env (`--help` prints them), start,
 * one clear line and exit 2 on a start-up error, graceful stop on signals.
 */
export function runDemo<S extends DemoSpecs>(
  app: string,
  specs: S,
  start: (settings: DemoSettings<S>) => Promise<RunningDemo>,
): void {
  let settings: DemoSettings<S>;
  try {
    const parsed = parseDemoSettings(specs);
    if (parsed.help) {
      process.stdout.write(renderDemoHelp(app, specs) + '\n');
      return;
    }
    settings = parsed.settings;
  } catch (e) {
    process.stderr.write(`${app}: ${e instanceof DemoSettingError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  start(settings).then(
    (running) => {
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        setTimeout(() => process.exit(0), 10_000).unref();
        running.stop().then(
          () => process.exit(0),
          (err) => {
            process.stderr.write(`${app}: error while stopping: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err) => {
      process.stderr.write(`${app}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
