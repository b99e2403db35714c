/**
 * A Zipkin collector for tests: an HTTP server on 127.0.0.1 (port 0 by default) that takes the
 * v2 JSON span arrays proxies POST to `/api/v2/spans` (what Envoy's zipkin tracer sends with
 * `collector_endpoint_version: HTTP_JSON`) and keeps every span, in arrival order.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The fields of a Zipkin v2 span the tests look at (the wire format has more). */
export interface CollectedSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  timestamp?: number;
  duration?: number;
  localEndpoint?: { serviceName?: string; ipv4?: string; port?: number };
  remoteEndpoint?: { serviceName?: string; ipv4?: string; port?: number };
  tags?: Record<string, string>;
}

export interface ZipkinCollector {
  /** `127.0.0.1:<port>`, what a proxy's `--zipkin-address` takes. */
  address: string;
  /** The port alone, for a bootstrap's collector cluster. */
  port: number;
  /** Every span received so far. */
  readonly spans: readonly CollectedSpan[];
  /** POSTs that were not a JSON array of spans (answered 400), as `<method> <url>: <why>`. */
  readonly rejected: readonly string[];
  /**
   * Resolves with the spans of one trace once `done` holds for them (reports arrive in batches,
   * up to a proxy's flush interval apart); rejects after `timeoutMs` with what had arrived.
   */
  waitForTrace(
    traceId: string,
    done: (spans: CollectedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<CollectedSpan[]>;
  close(): Promise<void>;
}

const SPANS_PATH = '/api/v2/spans';

function isSpan(v: unknown): v is CollectedSpan {
  const s = v as CollectedSpan;
  return typeof s === 'object' && s !== null && typeof s.traceId === 'string' && typeof s.id === 'string';
}

export async function startZipkinCollector(port = 0): Promise<ZipkinCollector> {
  const spans: CollectedSpan[] = [];
  const rejected: string[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reject = (why: string) => {
        rejected.push(`${req.method} ${req.url}: ${why}`);
        res.writeHead(400).end(why);
      };
      if (req.method !== 'POST' || req.url?.split('?')[0] !== SPANS_PATH) return reject(`not POST ${SPANS_PATH}`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return reject(`invalid JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(body) || !body.every(isSpan)) return reject('not an array of spans');
      spans.push(...body);
      // Zipkin's collector answers 202 Accepted.
      res.writeHead(202).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: boundPort } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${boundPort}`,
    port: boundPort,
    spans,
    rejected,
    waitForTrace(traceId, done, timeoutMs = 20_000) {
      const ofTrace = () => spans.filter((s) => s.traceId === traceId);
      return new Promise((resolve, reject) => {
        const check = () => {
          const trace = ofTrace();
          if (!done(trace)) return;
          finish();
          resolve(trace);
        };
        const timer = setTimeout(() => {
          finish();
          const got = ofTrace().map((s) => `${s.localEndpoint?.serviceName ?? '?'} ${s.kind ?? '?'} ${s.name}`);
          reject(new Error(`trace ${traceId} incomplete after ${timeoutMs} ms; spans: ${JSON.stringify(got)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
