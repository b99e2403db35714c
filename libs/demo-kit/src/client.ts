/**
 * Outbound HTTP for demo apps. When `HTTP_PROXY` is set (the local mesh points
 * it at the pod's sidecar outbound listener) requests go to the proxy in
 * absolute form (`GET http://reviews:9080/reviews/0 HTTP/1.1`), exactly like
 * curl or any proxy-aware client; `NO_PROXY` hosts go direct.
 */
import http from 'node:http';

export interface DemoResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface DemoRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  /** Proxy URL; defaults to $HTTP_PROXY / $http_proxy. Pass `null` to go direct. */
  proxy?: string | null;
  env?: Readonly<Record<string, string | undefined>>;
}

export class DemoHttpError extends Error {
  constructor(
    message: string,
    readonly kind: 'timeout' | 'connect' | 'io',
  ) {
    super(message);
  }
}

function proxyFor(target: URL, options: DemoRequestOptions): URL | null {
  if (options.proxy === null) return null;
  const env = options.env ?? process.env;
  const raw = options.proxy ?? env['HTTP_PROXY'] ?? env['http_proxy'];
  if (!raw) return null;
  const noProxy = (env['NO_PROXY'] ?? env['no_proxy'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const host = target.hostname.toLowerCase();
  if (noProxy.some((n) => n === '*' || host === n || host.endsWith(n.startsWith('.') ? n : `.${n}`))) return null;
  return new URL(raw.includes('://') ? raw : `http://${raw}`);
}

/** One request, whole body read as text. Rejects with DemoHttpError on timeout or connection failure. */
export function demoRequest(url: string, options: DemoRequestOptions = {}): Promise<DemoResponse> {
  const target = new URL(url);
  const via = proxyFor(target, options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: via ? via.hostname : target.hostname,
      port: via ? via.port || 80 : target.port || 80,
      path: via ? target.href : target.pathname + target.search,
      method: options.method ?? 'GET',
      headers: {
        host: target.host,
        ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
        ...options.headers,
      },
      agent: false,
    });
    const timer = setTimeout(
      () => req.destroy(new DemoHttpError(`request to ${url} timed out after ${timeoutMs} ms`, 'timeout')),
      timeoutMs,
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(new DemoHttpError(`reading ${url}: ${e.message}`, 'io'));
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e instanceof DemoHttpError ? e : new DemoHttpError(`request to ${url} failed: ${e.message}`, 'connect'));
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** GET expecting JSON with a 2xx status; anything else rejects (callers show their own "unavailable" text). */
export async function getJson<T = unknown>(url: string, options: DemoRequestOptions = {}): Promise<T> {
  const res = await demoRequest(url, { ...options, headers: { accept: 'application/json', ...options.headers } });
  if (res.status < 200 || res.status > 299) throw new DemoHttpError(`GET ${url} answered ${res.status}`, 'io');
  return JSON.parse(res.body) as T;
}
