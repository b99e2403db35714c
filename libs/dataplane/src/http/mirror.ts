/**
 * Request mirroring (route `request_mirror_policies`): a fire-and-forget copy to another cluster
 * with `-shadow` appended to the host (before the port), response discarded. It never affects
 * the primary request, and respects the mirror cluster's circuit breaker.
 */
import type { Cluster } from '../upstream/cluster';
import type { HeaderMap } from './header-ops';

export function shadowAuthority(authority: string): string {
  const m = /^(.*?)(:\d+)?$/.exec(authority);
  return m ? `${m[1]}-shadow${m[2] ?? ''}` : `${authority}-shadow`;
}

export function sendMirror(
  cluster: Cluster,
  req: { method: string; path: string; authority: string; scheme: string; headers: HeaderMap; body: Buffer[] | null },
): void {
  if (req.body === null || !cluster.admit()) return;
  const host = cluster.chooseHost({});
  if (!host) return;
  const authority = shadowAuthority(req.authority);
  const headers = req.headers;
  if (!cluster.settings.http2) headers['host'] = authority;
  cluster.rqActive++;
  host.rqActive++;
  host.rqTotal++;
  cluster.stats.rqTotal.inc();
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    cluster.rqActive--;
    host.rqActive--;
  };
  const up = cluster.pool.request(
    host,
    {
      method: req.method,
      path: req.path,
      authority,
      scheme: req.scheme,
      headers,
      bodyFraming: headers['content-length'] !== undefined ? 'length' : req.body.length ? 'chunked' : 'none',
    },
    {
      onResponse: (head) => {
        cluster.stats.recordStatus(head.status);
        head.body.on('end', release);
        head.body.on('error', release);
        head.body.resume();
      },
      onError: () => release(),
    },
  );
  for (const c of req.body) up.write(c);
  up.end();
}
