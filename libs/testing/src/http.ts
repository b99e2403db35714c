import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** Send through an HTTP proxy (absolute-form request line), like an app with HTTP_PROXY. */
  proxy?: string;
  /** Fresh connection (no keep-alive agent). */
  agent?: http.Agent | false;
}

/** One HTTP/1.1 request with the whole body read as text. */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const via = options.proxy ? new URL(options.proxy) : null;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: via ? via.hostname : target.hostname,
        port: via ? via.port : target.port,
        path: via ? target.href : target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: { ...(via ? { host: target.host } : {}), ...options.headers },
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
