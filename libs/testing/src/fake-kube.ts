/**
 * A tiny Kubernetes API server for tests (plain node:http on 127.0.0.1, port 0): lists with
 * resourceVersions, streaming watches (ADDED / MODIFIED / DELETED), and `410 Gone` for watches
 * from a compacted resourceVersion, so informers' relist path can be driven. A watch from a
 * resourceVersion first replays the events after it, as the real API server does, so a change made
 * between an informer's list and its watch is not lost. Objects live per
 * collection path (`/api/v1/services`, `/apis/config.istio.io/v1alpha2/rules`, …), the
 * all-namespaces paths informers list and watch. A `fieldSelector` (`a.b=v`, `a.b==v`, `a.b!=v`, comma-joined
 * terms that must all hold, as the API server takes them) filters lists and watch events; `sent` records which
 * objects left the server. Shared by Pilot's and Mixer's `--kube` tests; `kubeconfig()` writes a kubeconfig naming it.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = Record<string, unknown>;
type Match = (o: Obj) => boolean;

/** The API server's field-selector terms, ANDed; a term names a dotted field path (`metadata.namespace`, `type`). */
export function fieldSelector(selector: string | null): Match {
  if (!selector) return () => true;
  const terms = selector.split(',').map((term) => {
    const m = /^([\w.]+)(!=|==|=)(.*)$/.exec(term.trim());
    if (!m) throw new Error(`bad field selector term ${JSON.stringify(term)}`);
    const [, field, op, value] = m;
    const path = field.split('.');
    return (o: Obj) => {
      let v: unknown = o;
      for (const k of path) v = v && typeof v === 'object' ? (v as Obj)[k] : undefined;
      return (String(v ?? '') === value) === (op !== '!=');
    };
  });
  return (o) => terms.every((t) => t(o));
}

interface Watcher {
  res: ServerResponse;
  match: Match;
}

export class FakeKube {
  private rv = 1;
  compactedBelow = 0;
  readonly items = new Map<string, Map<string, Obj>>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Every event since the last compaction, per collection path, for watches that start behind. */
  private readonly history = new Map<string, { rv: number; obj: Obj; line: string }[]>();
  readonly server: Server = createServer((req, res) => this.handle(req, res));
  url = '';
  /** Paths of every request served (lists and watches), for assertions. */
  readonly requests: string[] = [];
  /** `<path> <namespace>/<name>` of every object served in a list or a watch event, for assertions. */
  readonly sent: string[] = [];

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Writes a kubeconfig for this server (token auth, no TLS) to `file`; returns `file`. */
  kubeconfig(file: string): string {
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "${this.url}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: test-token}}]
contexts: [{name: c, context: {cluster: fake, user: u}}]
current-context: c
`,
    );
    return file;
  }

  /** Adds or replaces an object and tells the watchers (ADDED or MODIFIED). */
  put(path: string, obj: Obj): void {
    const meta = obj['metadata'] as Obj;
    meta['resourceVersion'] = String(++this.rv);
    const m = this.items.get(path) ?? new Map<string, Obj>();
    const key = `${meta['namespace'] ?? ''}/${meta['name']}`;
    const type = m.has(key) ? 'MODIFIED' : 'ADDED';
    m.set(key, obj);
    this.items.set(path, m);
    this.notify(path, type, obj);
  }

  /** Deletes an object and tells the watchers (DELETED); false when there was none. */
  remove(path: string, namespace: string, name: string): boolean {
    const m = this.items.get(path);
    const obj = m?.get(`${namespace}/${name}`);
    if (!m || !obj) return false;
    m.delete(`${namespace}/${name}`);
    (obj['metadata'] as Obj)['resourceVersion'] = String(++this.rv);
    this.notify(path, 'DELETED', obj);
    return true;
  }

  /** Changes state without telling watchers (as if events were lost), then compacts history. */
  replaceSilently(path: string, objs: Obj[]): void {
    const m = new Map<string, Obj>();
    for (const o of objs) {
      const meta = o['metadata'] as Obj;
      meta['resourceVersion'] = String(++this.rv);
      m.set(`${meta['namespace'] ?? ''}/${meta['name']}`, o);
    }
    this.items.set(path, m);
    this.compactedBelow = this.rv;
    this.history.clear();
  }

  closeWatches(): void {
    for (const set of this.watchers.values()) for (const w of set) w.res.end();
    this.watchers.clear();
  }

  private notify(path: string, type: string, obj: Obj): void {
    const line = JSON.stringify({ type, object: obj }) + '\n';
    const events = this.history.get(path) ?? [];
    events.push({ rv: this.rv, obj, line });
    this.history.set(path, events);
    for (const w of this.watchers.get(path) ?? []) if (w.match(obj)) this.send(w.res, path, obj, line);
  }

  private send(res: ServerResponse, path: string, obj: Obj, line: string): void {
    this.recordSent(path, obj);
    res.write(line);
  }

  private recordSent(path: string, obj: Obj): void {
    const meta = obj['metadata'] as Obj;
    this.sent.push(`${path} ${meta['namespace'] ?? ''}/${meta['name']}`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    this.requests.push(`${url.searchParams.get('watch') === 'true' ? 'WATCH' : 'LIST'} ${path}`);
    res.setHeader('content-type', 'application/json');
    let match: Match;
    try {
      match = fieldSelector(url.searchParams.get('fieldSelector'));
    } catch (e) {
      res.writeHead(400);
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 400, message: (e as Error).message }));
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      const since = url.searchParams.get('resourceVersion');
      const from = Number(since ?? '0');
      res.writeHead(200);
      if (from < this.compactedBelow) {
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              reason: 'Expired',
              code: 410,
              message: 'too old resource version',
            },
          }) + '\n',
        );
        return;
      }
      res.flushHeaders();
      if (since !== null) {
        for (const e of this.history.get(path) ?? [])
          if (e.rv > from && match(e.obj)) this.send(res, path, e.obj, e.line);
      }
      const set = this.watchers.get(path) ?? new Set<Watcher>();
      const watcher = { res, match };
      set.add(watcher);
      this.watchers.set(path, set);
      res.on('close', () => set.delete(watcher));
      return;
    }
    const items = [...(this.items.get(path)?.values() ?? [])].filter(match);
    for (const o of items) this.recordSent(path, o);
    res.writeHead(200);
    res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items }));
  }
}
