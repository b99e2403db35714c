/**
 * Data-plane benchmark (not a test). Paths, every server and proxy its own process (this file
 * re-executes itself with --role):
 *   direct (node:http server) · plain node:http keep-alive relay (reference) · tsmesh one hop ·
 *   tsmesh two hops · tsmesh two hops with mTLS between them · the full mesh path (client sidecar
 *   → mTLS with SPIFFE certificates, secure naming, ALPN istio → server sidecar STRICT; both with
 *   the mesh's access log, Zipkin tracing and the `mixer` filter reporting to a real Mixer in
 *   telemetry mode), twice: tracing at the shipped default (`--trace-sampling` 1 %, Istio's default
 *   profile) and at 100 % (Istio's demo profile, Istio 1.0.0's default) · haproxy and nginx one hop
 *   when installed; haproxy also as two hops with mutual TLS between them (the mesh certificates),
 *   the same shape as tsmesh's two mTLS hops: what such a path costs on this machine in C · a
 *   Node byte relay pair with mTLS between them and no HTTP at all (`data` → `write` per
 *   connection): the floor of any Node.js data plane for that path on this machine.
 * Proxies run as `ProxyRuntime` (the engine as apps/proxy runs it, admin `/stats` included).
 *
 * Each round, for each path in turn: a throughput run (wrk when installed, autocannon otherwise)
 * and a paced run at --rate req/s over --connections connections (h2load --h1 --rps when
 * installed: per-request µs from its --log-file; autocannon overallRate otherwise, 1 ms
 * resolution). Reported as medians over the interleaved rounds:
 *   - throughput and ratios to direct and haproxy;
 *   - added latency p50/p90/p99 over direct at the paced rate (per-round differences, median);
 *   - CPU per 1000 requests per proxy process (= vCPU per 1000 rps × 1000; `process.cpuUsage`
 *     from each role over IPC, /proc for haproxy/nginx), at the paced rate and at saturation,
 *     and the mTLS extra CPU per request (two hops, mTLS vs plaintext, paired per round);
 *   - connection reuse: upstream_cx_total vs upstream_rq_total from the proxies' /stats;
 *   - RSS of a sidecar (dist/apps/proxy) holding the config the built Pilot generates for
 *     --services services, after warm-up traffic to every one of them.
 *
 *   node tools/bench/run.mjs proxy [--rounds 3] [--duration 3] [--paced-duration 5]
 *     [--connections 16] [--rate 1000] [--services 100] [--tool wrk|autocannon]
 *     [--latency-tool h2load|autocannon] [--pacing spread|bursts|both] [--no-mixer] [--no-rss] [--rss-only]
 *     [--only <regex>] [--warmup 1]
 *   --pacing: the fixed-rate shapes measured with h2load (default both, each its own run per path
 *     and round): `spread` sends one request at a time at about the mean rate (16 one-connection
 *     h2load processes started 1000/rate ms apart), `bursts` sends the 16 connections' requests at
 *     the same instant (one h2load, its clients on one timer). See `paced()`.
 *   --warmup <s>: seconds of throughput and of paced load per path before the rounds (JIT, pools).
 *   --nice-backends <n>: run the Mixer and the Zipkin collector at nice level n (e.g. 19): in a
 *     deployment they run on other machines, here their once-a-second batch work competes for the
 *     same 2 cores as the request path; the report says when it was used.
 *   --stalls: the proxies also record their main-thread stalls (GC pauses, event-loop delay) and
 *     the report adds a table of them per paced shape: where a latency tail comes from. The
 *     event-loop monitor wakes each proxy every 1 ms, so CPU and latency figures of a --stalls run
 *     are not comparable with others.
 *   --syscalls: `perf stat` (needs perf and access to its syscall tracepoints) on every proxy
 *     during each paced run; the report adds reads, writes, epoll waits, futex calls and context
 *     switches per request per proxy for each paced shape (is a change adding a write, a wake-up
 *     or a timer per request?). Counting tracepoints costs some CPU per syscall, so the CPU figures
 *     of a --syscalls run are not comparable with others.
 *   --rss-only: only the RSS phase (needs dist/apps/pilot and dist/apps/proxy), about 60 s.
 *   --rss-baseline <proxy main.js>: with --rss-only, A/B of the sidecar as shipped: --rss-rounds
 *     (default 3) interleaved rounds of dist/apps/proxy and that build (e.g. dist/apps/proxy/main.js
 *     of a worktree at an earlier commit; its launch.json beside it), alternating which goes first;
 *     per-round figures and medians.
 *   --rss-heapsnapshot <dir>: the RSS phase writes a heap snapshot of each sidecar into <dir> after
 *     warm-up (after its RSS is read).
 *   --v8-flags "<flags>": the flags of the side-by-side one-hop row (default SIDECAR_V8_FLAGS).
 *   --baseline <bench bundle.js>: one more row beside each of: one hop (with those flags), two
 *     hops with mTLS, and the full path at 1 % tracing, whose proxies run from another build of
 *     this bench (e.g. the tmp/bench/proxy.js of an earlier commit, kept under the repo so its
 *     packages resolve), for A/B of a data-plane change in one run (`--only` picks the pairs).
 *     Each baseline row and its current-build row swap places every other round; the report
 *     gives their CPU per request per round and the current / baseline ratios paired per round.
 *   --baseline-env '<json>': extra environment of that baseline row's proxy process (e.g. a malloc
 *     setting, with --baseline naming this build's own bundle copied aside).
 * The one-hop path runs twice side by side, with V8's default heap flags and with the flags
 * apps/proxy applies (SIDECAR_V8_FLAGS), so the CPU/throughput cost of those flags is a ratio
 * from the same run; the RSS phase reports the built sidecar both ways too.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  writeFileSync,
  rmSync,
  readFileSync,
  readdirSync,
  mkdirSync,
  openSync,
  closeSync,
} from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { sidecarLaunchEnv } from '../../apps/cli/src/plan';
import { BODY, announce, cpuMs, roleUpstream, roleZipkin } from './roles';
import { addr, MIXER_CLUSTER, mixerFilter, staticCluster } from './sidecar-config';
import { silentLogger } from '@tsmesh/core';
import { X509Certificate } from 'node:crypto';
import { generateKey, issueCertificate, privateKeyToPem, selfSignedRoot } from '@tsmesh/pki';
import {
  applyV8Flags,
  parseBootstrap,
  ProxyRuntime,
  registerBuiltinFilters,
  SIDECAR_V8_FLAGS,
  type Msg,
} from '@tsmesh/dataplane';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const ROOT = process.cwd();

// ---------------------------------------------------------------------------------------------
// Roles (child processes)

/**
 * Every role answers `cpu` over IPC with its process.cpuUsage() (user+system µs, all threads).
 * With BENCH_STALLS=1 (`--stalls`) it also keeps its main thread's stalls: GC pauses (count, total
 * and longest, from perf_hooks' `gc` entries) and the event-loop delay (monitorEventLoopDelay,
 * sampled every 1 ms, which itself wakes the process every 1 ms: a diagnostic, not for the CPU
 * figures), answers `stalls` with them and starts over.
 */
function serveCpu(): void {
  const stalls = process.env['BENCH_STALLS'] === '1';
  const eld = stalls ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  const gc = { count: 0, ms: 0, max: 0 };
  if (stalls) {
    eld?.enable();
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gc.count++;
        gc.ms += e.duration;
        gc.max = Math.max(gc.max, e.duration);
      }
    }).observe({ entryTypes: ['gc'] });
  }
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ cpu: u.user + u.system });
    } else if (m === 'stalls') {
      const h = eld as IntervalHistogram | undefined;
      process.send?.({
        stalls: {
          gcCount: gc.count,
          gcMs: gc.ms,
          gcMax: gc.max,
          eldP99: h ? h.percentile(99) / 1e6 : NaN,
          eldMax: h ? h.max / 1e6 : NaN,
        },
      });
      h?.reset();
      gc.count = gc.ms = gc.max = 0;
    }
  });
}

interface Stalls {
  gcCount: number;
  gcMs: number;
  gcMax: number;
  eldP99: number;
  eldMax: number;
}

/** A role's stalls since it was last asked (see serveCpu); undefined for haproxy/nginx. */
function stallsOf(child: ChildProcess): Promise<Stalls | undefined> {
  if (!child.connected) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const on = (m: { stalls?: Stalls }) => {
      if (!m?.stalls) return;
      child.off('message', on);
      resolve(m.stalls);
    };
    child.on('message', on);
    child.send('stalls');
  });
}

function roleRelay(target: number): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  announce(
    http.createServer((req, res) => {
      const up = http.request(
        { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    }),
  );
}

/**
 * The runtime's floor for a two-hop mTLS path: a byte relay with no HTTP at all. `front` accepts
 * plaintext and opens one mutual-TLS connection to `target` per client connection; `back` accepts
 * mutual TLS (client certificate required) and opens one plaintext connection to `target` per
 * connection. Bytes are copied as they arrive (`data` → `write`), with back-pressure. Certificates
 * come in BENCH_RELAY_CERTS (JSON of `Certs`).
 */
function roleByteRelay(target: number, side: string): void {
  const certs = JSON.parse(process.env['BENCH_RELAY_CERTS'] ?? '{}') as Certs;
  const join2 = (a: net.Socket, b: net.Socket) => {
    a.setNoDelay(true);
    b.setNoDelay(true);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      from.on('data', (d: Buffer) => {
        if (!to.write(d)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  };
  const up = (): net.Socket =>
    side === 'front'
      ? tls.connect({
          host: '127.0.0.1',
          port: target,
          key: certs.client.key,
          cert: certs.client.cert,
          ca: certs.client.ca,
          servername: 'outbound_.8080_._.bench-server.default.svc.cluster.local',
          ALPNProtocols: ['istio'],
          checkServerIdentity: () => undefined,
        })
      : net.connect(target, '127.0.0.1');
  const onConn = (c: net.Socket) => join2(c, up());
  const server =
    side === 'front'
      ? net.createServer(onConn)
      : tls.createServer(
          {
            key: certs.server.key,
            cert: certs.server.cert,
            ca: certs.server.ca,
            requestCert: true,
            rejectUnauthorized: true,
            ALPNProtocols: ['istio'],
          },
          onConn,
        );
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
}

/** A tsmesh proxy from the bootstrap in BENCH_BOOTSTRAP (JSON); BENCH_ACCESS_LOG=1 adds the mesh access log. */
async function roleProxy(): Promise<void> {
  // The sidecar's V8 heap flags (apps/proxy applies them at start) for the side-by-side row.
  applyV8Flags(process.env['BENCH_V8_FLAGS'] ?? '');
  const bootstrap = parseBootstrap(process.env['BENCH_BOOTSTRAP'] ?? '{}', 'BENCH_BOOTSTRAP');
  const rt = await ProxyRuntime.start({
    bootstrap,
    nodeType: 'sidecar',
    logger: silentLogger(),
    registerFilters: registerBuiltinFilters,
    drainMs: 10,
    defaultAccessLog: process.env['BENCH_ACCESS_LOG'] === '1' ? { path: '/dev/null', encoding: 'TEXT' } : undefined,
    samplingPercent: Number(process.env['BENCH_TRACE_SAMPLING'] ?? '100'),
  });
  console.log(JSON.stringify({ port: Number(rt.addresses['l'].split(':').pop()), admin: rt.addresses['admin'] }));
}

/**
 * What --syscalls counts (perf event names): node reads and writes sockets with read/write(v) and
 * waits in epoll_pwait; haproxy uses recvfrom/sendto and epoll_wait.
 */
const SYSCALL_EVENTS = [
  'syscalls:sys_enter_read',
  'syscalls:sys_enter_write',
  'syscalls:sys_enter_writev',
  'syscalls:sys_enter_recvfrom',
  'syscalls:sys_enter_sendto',
  'syscalls:sys_enter_epoll_pwait',
  'syscalls:sys_enter_epoll_wait',
  'syscalls:sys_enter_futex',
  'context-switches',
];

/**
 * Starts `perf stat` on a process (all its threads); the returned function stops it and resolves
 * to the counts by event name (empty when perf could not count, e.g. without tracepoint access).
 */
async function perfStat(pid: number): Promise<() => Promise<Map<string, number>>> {
  const child = spawn('perf', ['stat', '-x', ',', '-e', SYSCALL_EVENTS.join(','), '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // perf needs a moment to attach before the load starts.
  await new Promise((r) => setTimeout(r, 200));
  return async () => {
    child.kill('SIGINT');
    await exited;
    const counts = new Map<string, number>();
    // CSV rows: value,unit,event,… (value is "<not counted>" / "<not supported>" when it could not count).
    for (const row of text.split('\n')) {
      const f = row.split(',');
      if (f.length > 2 && /^\d+$/.test(f[0])) counts.set(f[2], Number(f[0]));
    }
    return counts;
  };
}

// ---------------------------------------------------------------------------------------------
// Configs (Envoy v3 JSON, which the bootstrap YAML parser reads as is)

const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/bench-server';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/bench-client';
const UP_CLUSTER = 'outbound|8080||bench-server.default.svc.cluster.local';

interface Certs {
  server: { key: string; cert: string; ca: string };
  client: { key: string; cert: string; ca: string };
}

/** One mesh root and two workload leaves with SPIFFE URI SANs, EC P-256, as Citadel issues them. */
async function meshCerts(): Promise<Certs> {
  const now = Date.now();
  const rootKey = await generateKey('ec-p256');
  const root = selfSignedRoot(rootKey.privateKey, 'cluster.local', 86_400_000, now);
  const issuer = new X509Certificate(root);
  const leaf = async (id: string) => {
    const k = await generateKey('ec-p256');
    const cert = issueCertificate({
      subjectKey: k.publicKey,
      sans: { uris: [id] },
      ttlMs: 86_400_000,
      now,
      issuer,
      signingKey: rootKey.privateKey,
    });
    return { key: privateKeyToPem(k.privateKey), cert, ca: root };
  };
  return { server: await leaf(SERVER_ID), client: await leaf(CLIENT_ID) };
}

const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.';

function commonTls(c: { key: string; cert: string; ca: string }, extraValidation: Msg, alpn: string[]): Msg {
  return {
    tls_certificates: [{ certificate_chain: { inline_string: c.cert }, private_key: { inline_string: c.key } }],
    validation_context: { trusted_ca: { inline_string: c.ca }, ...extraValidation },
    alpn_protocols: alpn,
  };
}

/** Server side of ISTIO_MUTUAL (STRICT): client certificate required, chain verified against the mesh root. */
const downstreamMtls = (c: Certs['server']): Msg => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': `${TLS}DownstreamTlsContext`,
    common_tls_context: commonTls(c, {}, ['istio-peer-exchange', 'h2', 'http/1.1', 'istio']),
    require_client_certificate: true,
  },
});

/** Client side of ISTIO_MUTUAL: client certificate, secure naming on the server's SPIFFE ID, ALPN istio, SNI. */
const upstreamMtls = (c: Certs['client']): Msg => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': `${TLS}UpstreamTlsContext`,
    common_tls_context: commonTls(
      c,
      { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: SERVER_ID } }] },
      ['istio'],
    ),
    sni: 'outbound_.8080_._.bench-server.default.svc.cluster.local',
  },
});

const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

function listener(cluster: string, o: { tls?: Msg; filters?: Msg[]; direction?: string; prefix?: string } = {}): Msg {
  return {
    name: 'l',
    address: addr(0),
    ...(o.direction ? { traffic_direction: o.direction } : {}),
    filter_chains: [
      {
        ...(o.tls ? { transport_socket: o.tls } : {}),
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type':
                'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: o.prefix ?? 'bench',
              route_config: {
                name: 'r',
                virtual_hosts: [
                  { name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] },
                ],
              },
              http_filters: [...(o.filters ?? []), ROUTER],
            },
          },
        ],
      },
    ],
  };
}

function bootstrap(node: string, listeners: Msg[], clusters: Msg[], zipkin?: number): string {
  const b: Msg = {
    node: { id: `sidecar~127.0.0.1~${node}-0.default~default.svc.cluster.local`, cluster: node },
    admin: { address: addr(0) },
    static_resources: { listeners, clusters: zipkin ? [...clusters, staticCluster('zipkin', zipkin)] : clusters },
  };
  if (zipkin)
    b['tracing'] = {
      http: {
        name: 'envoy.tracers.zipkin',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
          collector_cluster: 'zipkin',
          collector_endpoint: '/api/v2/spans',
          collector_endpoint_version: 'HTTP_JSON',
        },
      },
    };
  return JSON.stringify(b);
}

// ---------------------------------------------------------------------------------------------
// Process plumbing

interface Proc {
  child: ChildProcess;
  port: number;
  /** Admin `host:port` of a tsmesh proxy. */
  admin?: string;
}

function spawnRole(args: string[], env: Record<string, string> = {}, script = process.argv[1]): Promise<Proc> {
  const prof = arg('cpu-prof', '');
  const child = spawn(process.execPath, [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"port":(\d+)(?:,"admin":"([^"]+)")?\}/.exec(buf);
      if (m) resolve({ child, port: Number(m[1]), admin: m[2] });
    });
    child.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}`)));
  });
}

const proxyRole = (
  name: string,
  boot: string,
  accessLog = false,
  v8Flags = '',
  script?: string,
  env: Record<string, string> = {},
) =>
  spawnRole(
    ['--role', 'proxy', '--name', name],
    {
      ...env,
      BENCH_BOOTSTRAP: boot,
      BENCH_ACCESS_LOG: accessLog ? '1' : '0',
      BENCH_V8_FLAGS: v8Flags,
    },
    script,
  );

function rssMb(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}

function get(url: string, headers: http.OutgoingHttpHeaders = {}, agent?: http.Agent): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve([res.statusCode ?? 0, body]));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
  });
}

/** Envoy text `/stats` of a proxy as a map. */
async function stats(admin: string): Promise<Map<string, number>> {
  const [, body] = await get(`http://${admin}/stats`);
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    const i = line.lastIndexOf(': ');
    if (i > 0) out.set(line.slice(0, i), Number(line.slice(i + 2)));
  }
  return out;
}

/** Starts a built app (dist/apps/<name>/main.js) and waits for the named listeners in its log. */
function startBuilt(
  name: string,
  args: string[],
  listeners: string[],
  stdoutFile: string,
  env: Record<string, string> = {},
  main = join(ROOT, `dist/apps/${name}/main.js`),
): Promise<{ child: ChildProcess; addresses: Record<string, string> }> {
  const fd = openSync(stdoutFile, 'w');
  const child = spawn(process.execPath, [main, ...args], {
    stdio: ['ignore', fd, 'inherit'],
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const text = readFileSync(stdoutFile, 'utf8');
      const addresses: Record<string, string> = {};
      for (const m of text.matchAll(/"listener":"([^"]+)","address":"([^"]+)"/g)) addresses[m[1]] = m[2];
      if (listeners.every((l) => addresses[l])) {
        clearInterval(t);
        resolve({ child, addresses });
      }
    }, 50);
    child.once('exit', (c) => {
      clearInterval(t);
      const log = existsSync(stdoutFile) ? readFileSync(stdoutFile, 'utf8').slice(-400) : '';
      reject(new Error(`${name} exited ${c}: ${log}`));
    });
  });
}

/**
 * One haproxy process relaying HTTP/1 from 127.0.0.1:`port` to 127.0.0.1:`target` (one thread,
 * keep-alive both ways, upstream connections reused); `bindTls` / `serverTls` are the TLS words of
 * its `bind` and `server` lines.
 */
async function startHaproxy(
  dir: string,
  name: string,
  port: number,
  target: number,
  bindTls = '',
  serverTls = '',
): Promise<Proc> {
  const cfg = join(dir, `${name}.cfg`);
  writeFileSync(
    cfg,
    `global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n` +
      `frontend f\n  bind 127.0.0.1:${port}${bindTls}\n  default_backend b\nbackend b\n  http-reuse always\n  server s1 127.0.0.1:${target}${serverTls}\n`,
  );
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitListening(port);
  return { child, port };
}

async function spawnPeer(kind: 'haproxy' | 'nginx', target: number, dir: string): Promise<Proc> {
  const port = await freePort();
  if (kind === 'haproxy') return startHaproxy(dir, 'haproxy', port, target);
  const cfg = join(dir, 'nginx.cfg');
  writeFileSync(
    cfg,
    `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log;\nevents { worker_connections 4096; }\n` +
      `http {\n  access_log off;\n  client_body_temp_path ${dir};\n  proxy_temp_path ${dir};\n  fastcgi_temp_path ${dir};\n  uwsgi_temp_path ${dir};\n  scgi_temp_path ${dir};\n` +
      `  upstream up { server 127.0.0.1:${target}; keepalive 64; }\n` +
      `  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }\n}\n`,
  );
  const child = spawn('nginx', ['-c', cfg, '-p', dir, '-g', 'daemon off; master_process off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitListening(port);
  return { child, port };
}

/**
 * Two haproxy processes with mutual TLS between them (the mesh certificates: client certificate
 * required and verified against the mesh root both ways), the same shape as "tsmesh, two hops,
 * mTLS between them": what a two-proxy mTLS path costs on this machine with a C proxy.
 */
async function spawnHaproxyMtlsPair(target: number, certs: Certs, dir: string): Promise<{ front: Proc; back: Proc }> {
  const pem = (name: string, c: { key: string; cert: string; ca: string }) => {
    writeFileSync(join(dir, `${name}.pem`), `${c.cert.trim()}\n${c.key.trim()}\n`);
    writeFileSync(join(dir, `${name}-ca.pem`), c.ca);
    return { crt: join(dir, `${name}.pem`), ca: join(dir, `${name}-ca.pem`) };
  };
  const server = pem('hap-server', certs.server);
  const client = pem('hap-client', certs.client);
  const backPort = await freePort();
  const back = await startHaproxy(
    dir,
    'hap-back',
    backPort,
    target,
    ` ssl crt ${server.crt} ca-file ${server.ca} verify required`,
  );
  const front = await startHaproxy(
    dir,
    'hap-front',
    await freePort(),
    backPort,
    '',
    ` ssl crt ${client.crt} ca-file ${client.ca} verify required`,
  );
  return { front, back };
}

// ---------------------------------------------------------------------------------------------
// Load generators

interface Sample {
  rps: number;
  requests: number;
  /** Latency percentiles in ms. */
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  /** Fixed-rate runs with h2load: % of requests started within 0.2 ms of the one before. */
  coincident?: number;
}

function parseWrkMs(text: string, label: string): number {
  const m = new RegExp(`\\s${label}\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** Nearest-rank percentile of sorted values. */
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function saturate(port: number, seconds: number, connections: number, tool: string): Promise<Sample> {
  const url = `http://127.0.0.1:${port}/`;
  if (tool === 'wrk') {
    const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], {
      encoding: 'utf8',
    });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
    const errors =
      Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) +
      [...out.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    const p = (l: string) => parseWrkMs(out, l);
    return { rps, requests, p50: p('50%'), p90: p('90%'), p99: p('99%'), errors };
  }
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    rps: r.requests.average,
    requests: r.requests.total,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

/** Latency sample from h2load per-request log rows (start µs, status, duration µs). */
function h2loadSample(rows: number[][], seconds: number): Sample {
  const ok = rows.filter((r) => r[1] >= 200 && r[1] < 400);
  const lat = ok.map((r) => r[2] / 1000).sort((a, b) => a - b);
  return {
    rps: ok.length / seconds,
    requests: rows.length,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
    errors: rows.length - ok.length,
  };
}

const readH2loadLog = (log: string): number[][] =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t').map(Number));

/**
 * Share of requests (in %) that started within 0.2 ms of the request before them, over all
 * connections: about 94 % (15 of 16) for synchronized bursts of 16, about 1000 req/s × 0.2 ms = 20 %
 * for requests spread evenly or at random, so the report can show which shape was measured.
 */
export function coincidentStarts(rows: number[][]): number {
  const starts = rows.map((r) => r[0]).sort((a, b) => a - b);
  let close = 0;
  for (let i = 1; i < starts.length; i++) if (starts[i] - starts[i - 1] < 200) close++;
  return starts.length > 1 ? (close / (starts.length - 1)) * 100 : NaN;
}

/**
 * The pacing shapes of the fixed-rate runs:
 *   - `bursts`: one h2load with `-c<connections> --rps=<rate/connections>`. Its clients share one
 *     event loop and one timer period, so the connections send at the same instant: bursts of
 *     `connections` requests every connections/rate seconds (a synchronized load);
 *   - `spread`: `connections` h2load processes of one connection each at rate/connections, started
 *     1000/rate ms apart, so the requests arrive one at a time at about the mean rate (a paced load
 *     in the usual sense: the connections' phases are spread over the period).
 */
type Pacing = 'bursts' | 'spread';

/**
 * Fixed-rate load spread over `connections` keep-alive connections. h2load: `--rps` is per
 * client, so rate/connections each; latencies in µs from its per-request log.
 */
async function paced(
  port: number,
  seconds: number,
  connections: number,
  rate: number,
  tool: string,
  dir: string,
  pacing: Pacing = 'bursts',
): Promise<Sample> {
  const url = `http://127.0.0.1:${port}/`;
  if (tool === 'h2load' && pacing === 'spread') {
    const logs = Array.from({ length: connections }, (_, i) => join(dir, `h2load-${i}.log`));
    for (const log of logs) rmSync(log, { force: true }); // h2load appends to an existing log
    const gapMs = 1000 / rate;
    await Promise.all(
      logs.map(
        (log, i) =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              const child = spawn(
                'h2load',
                ['--h1', '-c1', `--rps=${rate / connections}`, `-D${seconds}`, `--log-file=${log}`, url],
                { stdio: 'ignore' },
              );
              child.on('exit', () => resolve());
              child.on('error', () => resolve());
            }, i * gapMs);
          }),
      ),
    );
    const rows = logs.flatMap((log) => (existsSync(log) ? readH2loadLog(log) : []));
    return { ...h2loadSample(rows, seconds), coincident: coincidentStarts(rows) };
  }
  if (tool === 'h2load') {
    const log = join(dir, 'h2load.log');
    rmSync(log, { force: true }); // h2load appends to an existing log
    spawnSync(
      'h2load',
      ['--h1', `-c${connections}`, `--rps=${rate / connections}`, `-D${seconds}`, `--log-file=${log}`, url],
      { encoding: 'utf8' },
    );
    const rows = readH2loadLog(log);
    return { ...h2loadSample(rows, seconds), coincident: coincidentStarts(rows) };
  }
  const r = await autocannon({ url, connections, duration: seconds, overallRate: rate });
  return {
    rps: r.requests.average,
    requests: r.requests.total,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const fmt = (x: number, d = 2) => (Number.isNaN(x) ? 'n/a' : x.toFixed(d));

// ---------------------------------------------------------------------------------------------
// RSS with a Pilot-generated config

function servicesYaml(n: number, upstreamPort: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${i}, namespace: default, labels: {app: svc-${i}}}
spec: {clusterIP: 10.96.${i >> 8}.${i & 255}, ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: svc-${i}, namespace: default}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: http, port: ${upstreamPort}}]}]`);
  }
  return docs.join('\n---\n') + '\n';
}

/**
 * The built Pilot with a folder of `n` services (one endpoint each, all the bench upstream) and the
 * built sidecar connected to it; warm-up sends requests to every service through the sidecar's
 * HTTP proxy port, then the sidecar's RSS is read.
 */
async function sidecarRss(
  n: number,
  upstreamPort: number,
  dir: string,
  children: ChildProcess[],
  /** TSMESH_PROXY_V8_FLAGS for the sidecar: undefined keeps its own (SIDECAR_V8_FLAGS), "" V8's defaults. */
  v8Flags?: string,
  /** The sidecar's main.js (default dist/apps/proxy/main.js); its launch.json is read beside it. */
  proxyMain = join(ROOT, 'dist/apps/proxy/main.js'),
  tagSuffix = '',
): Promise<{
  rssAfterConfig: number;
  rssAfterWarmup: number;
  rssSettled: number;
  clusters: number;
  requests: number;
  ok: number;
}> {
  const tag = (v8Flags === undefined ? 'sidecar-flags' : `flags-${v8Flags.replace(/\W+/g, '_') || 'none'}`) + tagSuffix;
  const cfg = join(dir, `services-${tag}`);
  const snapDir = arg('rss-heapsnapshot', '');
  mkdirSync(cfg);
  writeFileSync(join(cfg, 'services.yaml'), servicesYaml(n, upstreamPort));
  const pilot = await startBuilt(
    'pilot',
    ['--config-dir', cfg, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0'],
    ['grpc'],
    join(dir, `pilot-${tag}.log`),
  );
  children.push(pilot.child);
  const proxyPort = await freePort();
  const sidecar = await startBuilt(
    'proxy',
    [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--service-node',
      'sidecar~127.0.0.1~bench-rss-0.default~default.svc.cluster.local',
      '--service-cluster',
      'bench-rss',
      '--http-proxy-port',
      String(proxyPort),
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '',
      '--health-address',
      '127.0.0.1:0',
      '--outbound-address',
      '127.0.0.1:0',
      '--inbound-address',
      '',
      '--access-log-file',
      '',
    ],
    ['admin', 'health'],
    join(dir, `proxy-${tag}.log`),
    // started as shipped: the environment of its launch.json (MALLOC_ARENA_MAX, NODE_OPTIONS; docs/config.md)
    {
      ...sidecarLaunchEnv(dirname(proxyMain)),
      ...(v8Flags === undefined ? {} : { TSMESH_PROXY_V8_FLAGS: v8Flags }),
      ...(snapDir ? { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapDir}` } : {}),
    },
    proxyMain,
  );
  children.push(sidecar.child);
  const deadline = Date.now() + 60_000;
  while ((await get(`http://${sidecar.addresses['health']}/healthz/ready`).catch(() => [0]))[0] !== 200) {
    if (Date.now() > deadline) throw new Error('sidecar not ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const s = await stats(sidecar.addresses['admin']);
  const clusters = new Set(
    [...s.keys()].filter((k) => k.startsWith('cluster.outbound|')).map((k) => k.split('.svc.cluster.local')[0]),
  ).size;
  await new Promise((r) => setTimeout(r, 2000));
  const rssAfterConfig = rssMb(sidecar.child.pid);
  // Warm-up: 16 keep-alive connections, 30 requests per service, every service.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let ok = 0;
  let requests = 0;
  const queue = Array.from({ length: n * 30 }, (_, k) => k % n);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        requests++;
        // Absolute-form request to the explicit HTTP proxy port, as an app using HTTP_PROXY sends it.
        const [status] = await new Promise<[number]>((resolve) => {
          const req = http.get(
            {
              host: '127.0.0.1',
              port: proxyPort,
              path: `http://svc-${i}.default.svc.cluster.local:8080/`,
              headers: { host: `svc-${i}.default.svc.cluster.local:8080` },
              agent,
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve([res.statusCode ?? 0]));
            },
          );
          req.setTimeout(2000, () => req.destroy(new Error('timeout')));
          req.on('error', () => resolve([0]));
        });
        if (status === 200) ok++;
      }
    }),
  );
  agent.destroy();
  await new Promise((r) => setTimeout(r, 2000));
  const rssAfterWarmup = rssMb(sidecar.child.pid);
  // And once V8's memory reducer has run (it starts about 8 s after the heap last grew, when
  // allocation is slow): what a sidecar holds between bursts of traffic.
  await new Promise((r) => setTimeout(r, 13_000));
  const rssSettled = rssMb(sidecar.child.pid);
  if (snapDir) {
    const before = new Set(readdirSync(snapDir));
    sidecar.child.kill('SIGUSR2');
    const deadline2 = Date.now() + 60_000;
    while (!readdirSync(snapDir).some((f) => !before.has(f) && f.endsWith('.heapsnapshot')) && Date.now() < deadline2)
      await new Promise((r) => setTimeout(r, 200));
    // The file appears when writing starts.
    await new Promise((r) => setTimeout(r, 5000));
    console.error(`heap snapshot of the ${tag} sidecar in ${snapDir}`);
  }
  for (const c of [sidecar.child, pilot.child]) c.kill('SIGKILL');
  return { rssAfterConfig, rssAfterWarmup, rssSettled, clusters, requests, ok };
}

/** The RSS rows of dist/apps/proxy with Pilot's config: the sidecar as shipped, then with V8's default heap flags. */
async function sidecarRssRows(
  services: number,
  upstreamPort: number,
  dir: string,
  children: ChildProcess[],
  p: (line: string) => void,
): Promise<void> {
  for (const [label, flags] of [
    [
      `V8 flags ${SIDECAR_V8_FLAGS}, env ${JSON.stringify(sidecarLaunchEnv(join(ROOT, 'dist/apps/proxy')))} (as shipped)`,
      undefined,
    ],
    ['V8 default heap flags (TSMESH_PROXY_V8_FLAGS="")', ''],
  ] as const) {
    const r = await sidecarRss(services, upstreamPort, dir, children, flags);
    p(
      `| dist/apps/proxy with Pilot's config for ${services} services (${r.clusters} outbound clusters), ${label}, before traffic | ${fmt(r.rssAfterConfig, 1)} |`,
    );
    p(
      `| same, after warm-up (${r.requests} requests to all ${services} services, ${r.ok} answered 200) | ${fmt(r.rssAfterWarmup, 1)} |`,
    );
    p(`| same, 15 s after warm-up without traffic | ${fmt(r.rssSettled, 1)} |`);
  }
  p(`\nTarget: ≤ 70 MB with a 100-service config.`);
}

/** --rss-baseline: the shipped sidecar of this build and of another, interleaved rounds, medians. */
async function sidecarRssAB(
  services: number,
  upstreamPort: number,
  dir: string,
  children: ChildProcess[],
  baselineMain: string,
  rounds: number,
  p: (line: string) => void,
): Promise<void> {
  const builds = [
    ['current (dist/apps/proxy)', join(ROOT, 'dist/apps/proxy/main.js')],
    [`baseline (${baselineMain})`, baselineMain],
  ] as const;
  const before: number[][] = [[], []];
  const after: number[][] = [[], []];
  const settled: number[][] = [[], []];
  p('| round | build | load | before traffic MB | after warm-up MB | 15 s later MB | clusters | 200s / requests |');
  p('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (let round = 0; round < rounds; round++) {
    for (const b of round % 2 ? [1, 0] : [0, 1]) {
      const [label, main] = builds[b];
      const r = await sidecarRss(services, upstreamPort, dir, children, undefined, main, `-${round}-${b}`);
      before[b].push(r.rssAfterConfig);
      after[b].push(r.rssAfterWarmup);
      settled[b].push(r.rssSettled);
      p(
        `| ${round + 1} | ${label} | ${loadavg()[0].toFixed(2)} | ${fmt(r.rssAfterConfig, 1)} | ${fmt(r.rssAfterWarmup, 1)} | ${fmt(r.rssSettled, 1)} | ${r.clusters} | ${r.ok} / ${r.requests} |`,
      );
    }
  }
  for (const b of [0, 1])
    p(
      `\nMedian, ${builds[b][0]}: ${fmt(median(before[b]), 1)} MB before traffic, ${fmt(median(after[b]), 1)} MB after warm-up, ${fmt(median(settled[b]), 1)} MB 15 s later`,
    );
  p(`\nTarget: ≤ 70 MB with a 100-service config.`);
}

// ---------------------------------------------------------------------------------------------

interface Scenario {
  name: string;
  port: number;
  /** Proxy processes on this path (CPU per proxy). */
  procs: ChildProcess[];
}

async function main(): Promise<void> {
  const role = arg('role', '');
  if (role) {
    // Exit normally on SIGINT so `--cpu-prof` can write its profile.
    process.on('SIGINT', () => process.exit(0));
    serveCpu();
    const target = Number(arg('target', '0'));
    if (role === 'upstream') return roleUpstream();
    if (role === 'zipkin') return roleZipkin();
    if (role === 'relay') return roleRelay(target);
    if (role === 'proxy') return roleProxy();
    if (role === 'byte-relay') return roleByteRelay(target, arg('side', 'front'));
    throw new Error(`unknown role ${role}`);
  }

  const seconds = Number(arg('duration', '3'));
  const pacedSeconds = Number(arg('paced-duration', '5'));
  const rounds = Number(arg('rounds', '3'));
  const stallsOn = flag('stalls');
  const syscallsOn = flag('syscalls');
  if (syscallsOn && !has('perf')) throw new Error('--syscalls needs perf');
  // The roles inherit it (spawnRole passes this process's environment).
  if (stallsOn) process.env['BENCH_STALLS'] = '1';
  const connections = Number(arg('connections', '16'));
  const rate = Number(arg('rate', '1000'));
  const services = Number(arg('services', '100'));
  const tool = arg('tool', has('wrk') ? 'wrk' : 'autocannon');
  const latencyTool = arg('latency-tool', has('h2load') ? 'h2load' : 'autocannon');
  // Fixed-rate shapes measured each round (h2load only; autocannon's overallRate is one shape).
  const pacingArg = arg('pacing', 'both');
  const pacings: Pacing[] =
    latencyTool !== 'h2load' ? ['bursts'] : pacingArg === 'both' ? ['spread', 'bursts'] : [pacingArg as Pacing];
  if (!pacings.every((x) => x === 'spread' || x === 'bursts'))
    throw new Error(`--pacing ${pacingArg}: spread, bursts or both`);
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tsmesh-bench-'));
  const startedAt = Date.now();
  const loadAtStart = loadavg();
  try {
    const track = <T extends Proc>(p: T): T => (children.push(p.child), p);
    const upstream = track(await spawnRole(['--role', 'upstream']));
    if (flag('rss-only')) {
      // Only the RSS phase (dist/apps/pilot and dist/apps/proxy), about 60 s.
      const out: string[] = [
        `\n### Sidecar RSS — ${new Date(startedAt).toISOString()}, load ${loadavg()[0].toFixed(2)}\n`,
      ];
      const rssBaseline = arg('rss-baseline', '');
      if (rssBaseline) {
        const rounds = Number(arg('rss-rounds', '3'));
        await sidecarRssAB(services, upstream.port, dir, children, rssBaseline, rounds, (l) => console.log(l));
      } else {
        out.push('| sidecar | RSS MB |', '| --- | --- |');
        await sidecarRssRows(services, upstream.port, dir, children, (l) => out.push(l));
      }
      console.log(out.join('\n'));
      return;
    }
    const zipkin = track(await spawnRole(['--role', 'zipkin']));
    const relay = track(await spawnRole(['--role', 'relay', '--target', String(upstream.port)]));
    const hop = (target: number, extra: Parameters<typeof listener>[1] = {}, cluster: Msg = {}) =>
      bootstrap('bench', [listener('up', extra)], [staticCluster('up', target, cluster)]);
    const hop1 = track(await proxyRole('hop1', hop(upstream.port)));
    const v8Flags = arg('v8-flags', SIDECAR_V8_FLAGS);
    const hop1v8 = track(await proxyRole('hop1v8', hop(upstream.port), false, v8Flags));
    const baseline = arg('baseline', '');
    const baselineScript = baseline ? join(ROOT, baseline) : undefined;
    const baselineEnv = JSON.parse(arg('baseline-env', '{}')) as Record<string, string>;
    const hop1base = baselineScript
      ? track(await proxyRole('hop1base', hop(upstream.port), false, v8Flags, baselineScript, baselineEnv))
      : undefined;
    const hop2a = track(await proxyRole('hop2a', hop(upstream.port)));
    const hop2b = track(await proxyRole('hop2b', hop(hop2a.port)));
    const certs = await meshCerts();
    /** Two hops with mTLS between them, the proxies from `script` (this bench by default). */
    const mtlsPair = async (tag = '', script?: string, env: Record<string, string> = {}) => {
      const a = track(
        await proxyRole(
          `mtlsA${tag}`,
          hop(upstream.port, { tls: downstreamMtls(certs.server) }),
          false,
          '',
          script,
          env,
        ),
      );
      const b = track(
        await proxyRole(
          `mtlsB${tag}`,
          hop(a.port, {}, { transport_socket: upstreamMtls(certs.client) }),
          false,
          '',
          script,
          env,
        ),
      );
      return { a, b };
    };
    const { a: mtlsA, b: mtlsB } = await mtlsPair();
    const NODE_FLOOR = 'node byte relay, two hops, mTLS between them (the runtime floor: no HTTP)';
    const floorEnv = { BENCH_RELAY_CERTS: JSON.stringify(certs) };
    const floorBack = track(
      await spawnRole(['--role', 'byte-relay', '--side', 'back', '--target', String(upstream.port)], floorEnv),
    );
    const floorFront = track(
      await spawnRole(['--role', 'byte-relay', '--side', 'front', '--target', String(floorBack.port)], floorEnv),
    );
    const mtlsBase = baselineScript ? await mtlsPair('-baseline', baselineScript, baselineEnv) : undefined;

    // The full mesh path: sidecars with access log, tracing and the mixer filter (Mixer in telemetry mode).
    let mixer: { child: ChildProcess; addresses: Record<string, string> } | undefined;
    let mixerNote = '';
    if (flag('no-mixer')) mixerNote = 'without Mixer (--no-mixer)';
    else if (!existsSync(join(ROOT, 'dist/apps/mixer/main.js')))
      mixerNote = 'without Mixer (dist/apps/mixer not built)';
    else {
      mixer = await startBuilt(
        'mixer',
        [
          '--mode',
          'telemetry',
          '--grpc-address',
          '127.0.0.1:0',
          '--prometheus-address',
          '127.0.0.1:0',
          '--monitoring-address',
          '',
        ],
        ['grpc'],
        join(dir, 'mixer.log'),
      );
      children.push(mixer.child);
    }
    // --nice-backends <n>: the Mixer and the Zipkin collector at that nice level, standing for
    // services that in a deployment run on other machines than the sidecars they serve.
    const niceBackends = arg('nice-backends', '');
    if (niceBackends)
      for (const c of [mixer?.child, zipkin.child]) if (c?.pid) setPriority(c.pid, Number(niceBackends));
    const mixerPort = mixer ? Number(mixer.addresses['grpc'].split(':').pop()) : 0;
    const mixerCluster = mixer ? [staticCluster(MIXER_CLUSTER, mixerPort, { http2_protocol_options: {} })] : [];
    const mixerFilters = (d: 'inbound' | 'outbound') => (mixer ? [mixerFilter(d)] : []);
    /** A client and a server sidecar of the full path, tracing `sampling` % of the requests, from `script`. */
    const fullPath = async (sampling: number, script?: string, extraEnv: Record<string, string> = {}) => {
      const env = { ...extraEnv, BENCH_TRACE_SAMPLING: String(sampling) };
      const server = track(
        await proxyRole(
          'sidecar-server',
          bootstrap(
            'bench-server',
            [
              listener('inbound|8080||bench-server.default.svc.cluster.local', {
                tls: downstreamMtls(certs.server),
                filters: mixerFilters('inbound'),
                direction: 'INBOUND',
                prefix: 'inbound_127.0.0.1_8080',
              }),
            ],
            [staticCluster('inbound|8080||bench-server.default.svc.cluster.local', upstream.port), ...mixerCluster],
            zipkin.port,
          ),
          true,
          '',
          script,
          env,
        ),
      );
      const client = track(
        await proxyRole(
          'sidecar-client',
          bootstrap(
            'bench-client',
            [
              listener(UP_CLUSTER, {
                filters: mixerFilters('outbound'),
                direction: 'OUTBOUND',
                prefix: 'outbound_0.0.0.0_8080',
              }),
            ],
            [staticCluster(UP_CLUSTER, server.port, { transport_socket: upstreamMtls(certs.client) }), ...mixerCluster],
            zipkin.port,
          ),
          true,
          '',
          script,
          env,
        ),
      );
      return { server, client };
    };
    const { server: sidecarServer, client: sidecarClient } = await fullPath(1);
    const { server: sidecarServer100, client: sidecarClient100 } = await fullPath(100);
    const fullBase = baselineScript ? await fullPath(1, baselineScript, baselineEnv) : undefined;
    const FULL = `full path: 2 sidecars, mTLS, access log + tracing 1 % (shipped default)${mixer ? ' + Mixer reports' : ''}`;
    const FULL100 = `full path, tracing at 100 % (Istio demo profile)`;
    const MTLS = 'tsmesh, two hops, mTLS between them';
    const HOP1V8 = `tsmesh, one hop, sidecar V8 flags (${v8Flags})`;
    const baseName = (row: string) => `${row}, baseline build ${baseline}`;
    const scenarios: Scenario[] = [
      { name: 'direct (node:http server)', port: upstream.port, procs: [] },
      { name: 'node:http keep-alive relay (reference)', port: relay.port, procs: [relay.child] },
      { name: 'tsmesh, one hop', port: hop1.port, procs: [hop1.child] },
      { name: HOP1V8, port: hop1v8.port, procs: [hop1v8.child] },
      ...(hop1base ? [{ name: baseName(HOP1V8), port: hop1base.port, procs: [hop1base.child] }] : []),
      { name: 'tsmesh, two hops', port: hop2b.port, procs: [hop2a.child, hop2b.child] },
      { name: MTLS, port: mtlsB.port, procs: [mtlsA.child, mtlsB.child] },
      { name: NODE_FLOOR, port: floorFront.port, procs: [floorBack.child, floorFront.child] },
      ...(mtlsBase
        ? [{ name: baseName(MTLS), port: mtlsBase.b.port, procs: [mtlsBase.a.child, mtlsBase.b.child] }]
        : []),
      { name: FULL, port: sidecarClient.port, procs: [sidecarServer.child, sidecarClient.child] },
      ...(fullBase
        ? [{ name: baseName(FULL), port: fullBase.client.port, procs: [fullBase.server.child, fullBase.client.child] }]
        : []),
      { name: FULL100, port: sidecarClient100.port, procs: [sidecarServer100.child, sidecarClient100.child] },
    ];
    const only = arg('only', '');
    if (only) {
      const re = new RegExp(only);
      for (let i = scenarios.length - 1; i > 0; i--) if (!re.test(scenarios[i].name)) scenarios.splice(i, 1);
    }
    const missing: string[] = [];
    for (const kind of ['haproxy', 'nginx'] as const) {
      if (!has(kind)) {
        missing.push(kind);
        continue;
      }
      if (only && !new RegExp(only).test(`${kind}, one hop`)) continue;
      const peer = track(await spawnPeer(kind, upstream.port, dir));
      scenarios.push({ name: `${kind}, one hop`, port: peer.port, procs: [peer.child] });
    }
    const HAP_MTLS = 'haproxy, two hops, mTLS between them';
    if (has('haproxy') && (!only || new RegExp(only).test(HAP_MTLS))) {
      const pair = await spawnHaproxyMtlsPair(upstream.port, certs, dir);
      track(pair.back);
      track(pair.front);
      scenarios.push({ name: HAP_MTLS, port: pair.front.port, procs: [pair.back.child, pair.front.child] });
    }
    // Warm-up (JIT, pools, TLS sessions).
    const warmup = Number(arg('warmup', '1'));
    if (rounds > 0) {
      for (const s of scenarios) await saturate(s.port, warmup, connections, tool);
      for (const s of scenarios) await paced(s.port, warmup, connections, rate, latencyTool, dir, pacings[0]);
    }

    const sat = new Map<string, Sample[]>(scenarios.map((s) => [s.name, []]));
    const pacBy = new Map<Pacing, Map<string, Sample[]>>(
      pacings.map((k) => [k, new Map(scenarios.map((s) => [s.name, []]))]),
    );
    // --stalls: the proxies' main-thread stalls per paced run (GC pauses summed over the path's
    // proxies, event-loop delay of the worst one).
    const stallsBy = new Map<Pacing, Map<string, Stalls[]>>(
      pacings.map((k) => [k, new Map(scenarios.map((s) => [s.name, []]))]),
    );
    // --syscalls: per paced run, each event's count per request per proxy.
    const syscallsBy = new Map<Pacing, Map<string, Map<string, number>[]>>(
      pacings.map((k) => [k, new Map(scenarios.map((s) => [s.name, []]))]),
    );
    const cpuBy = new Map<Pacing, Map<string, number[]>>(
      pacings.map((k) => [k, new Map(scenarios.map((s) => [s.name, []]))]),
    );
    const cpuSat = new Map<string, number[]>(scenarios.map((s) => [s.name, []]));
    // The first shape (spread by default) is the "paced" CPU of the baseline comparison below.
    const cpuPaced = cpuBy.get(pacings[0]) as Map<string, number[]>;
    /** CPU ms per 1000 requests per proxy process while `run` drives `s`. */
    const withCpu = async (s: Scenario, run: () => Promise<Sample>, into: Map<string, number[]>) => {
      const before = await Promise.all(s.procs.map(cpuMs));
      const sample = await run();
      const after = await Promise.all(s.procs.map(cpuMs));
      const used = after.reduce((a, x, i) => a + x - before[i], 0);
      if (s.procs.length) (into.get(s.name) as number[]).push((used / sample.requests / s.procs.length) * 1000);
      return sample;
    };
    // Rows compared with their baseline-build row (each baseline row follows its current row).
    const abPairs = baseline
      ? scenarios.filter((s) => scenarios.some((b) => b.name === baseName(s.name))).map((s) => s.name)
      : [];
    for (let r = 0; r < rounds; r++) {
      // Each baseline row and its current-build row swap places every other round, so neither
      // always runs right after the other.
      const order = [...scenarios];
      if (r % 2 === 1)
        for (const name of abPairs) {
          const i = order.findIndex((s) => s.name === name);
          [order[i], order[i + 1]] = [order[i + 1], order[i]];
        }
      for (const s of order) {
        (sat.get(s.name) as Sample[]).push(
          await withCpu(s, () => saturate(s.port, seconds, connections, tool), cpuSat),
        );
        for (const k of pacings) {
          const into = cpuBy.get(k) as Map<string, number[]>;
          if (stallsOn) await Promise.all(s.procs.map(stallsOf));
          const counting =
            syscallsOn && s.procs.length ? await Promise.all(s.procs.map((c) => perfStat(c.pid as number))) : [];
          const sample = await withCpu(
            s,
            () => paced(s.port, pacedSeconds, connections, rate, latencyTool, dir, k),
            into,
          );
          if (counting.length) {
            const counts = await Promise.all(counting.map((stop) => stop()));
            const perRequest = new Map<string, number>();
            for (const e of SYSCALL_EVENTS) {
              const per = counts.map((m) => m.get(e));
              if (per.every((x) => x !== undefined))
                perRequest.set(e, per.reduce((a, x) => a + (x as number), 0) / counts.length / sample.requests);
            }
            syscallsBy.get(k)?.get(s.name)?.push(perRequest);
          }
          ((pacBy.get(k) as Map<string, Sample[]>).get(s.name) as Sample[]).push(sample);
          const st = stallsOn ? (await Promise.all(s.procs.map(stallsOf))).filter((x) => x !== undefined) : [];
          if (st.length)
            (stallsBy.get(k)?.get(s.name) as Stalls[]).push({
              gcCount: st.reduce((a, x) => a + x.gcCount, 0),
              gcMs: st.reduce((a, x) => a + x.gcMs, 0),
              gcMax: Math.max(...st.map((x) => x.gcMax)),
              eldP99: Math.max(...st.map((x) => x.eldP99)),
              eldMax: Math.max(...st.map((x) => x.eldMax)),
            });
        }
      }
    }
    const loadAtEnd = loadavg();

    const med = (from: Map<string, Sample[]>, name: string, pick: (x: Sample) => number) =>
      median((from.get(name) as Sample[]).map(pick));
    const direct = scenarios[0].name;
    const directRps = med(sat, direct, (x) => x.rps);
    const haproxyRps = sat.has('haproxy, one hop') ? med(sat, 'haproxy, one hop', (x) => x.rps) : NaN;
    const out: string[] = [];
    const p = (line = '') => out.push(line);
    p(`\n## Proxy benchmark — ${new Date(startedAt).toISOString()}`);
    p(
      `\n${rounds} interleaved rounds; per path and round: ${seconds} s throughput (${tool}) then ${pacedSeconds} s paced at ${rate} req/s (${latencyTool}), ${connections} connections, ${BODY.length}-byte body. ` +
        `Load average at start ${loadAtStart.map((x) => x.toFixed(2)).join(' / ')}, at end ${loadAtEnd.map((x) => x.toFixed(2)).join(' / ')}.` +
        (missing.length ? ` Not installed, rows left out: ${missing.join(', ')}.` : '') +
        (mixerNote ? ` Full path ${mixerNote}.` : '') +
        (niceBackends ? ` Mixer and Zipkin collector at nice ${niceBackends} (--nice-backends).` : ''),
    );
    p(`\n### Throughput\n`);
    p('| path | req/s (median) | ratio to direct | ratio to haproxy | p50 ms | p99 ms | errors |');
    p('| --- | --- | --- | --- | --- | --- | --- |');
    for (const s of scenarios) {
      const rps = med(sat, s.name, (x) => x.rps);
      const errors = (sat.get(s.name) as Sample[]).reduce((a, x) => a + x.errors, 0);
      p(
        `| ${s.name} | ${Math.round(rps)} | ${fmt(rps / directRps)} | ${fmt(rps / haproxyRps)} | ${fmt(med(sat, s.name, (x) => x.p50))} | ${fmt(med(sat, s.name, (x) => x.p99))} | ${errors} |`,
      );
    }
    // Added latency: per round, path percentile minus direct's in the same round; median over rounds.
    for (const k of pacings) {
      const pac = pacBy.get(k) as Map<string, Sample[]>;
      const added = (name: string, pick: (x: Sample) => number) =>
        median((pac.get(name) as Sample[]).map((x, i) => pick(x) - pick((pac.get(direct) as Sample[])[i])));
      const shape =
        latencyTool !== 'h2load'
          ? ''
          : k === 'spread'
            ? `, spread: ${connections} one-connection h2load processes started ${fmt(1000 / rate, 1)} ms apart`
            : `, synchronized bursts: one h2load, ${connections} clients on one timer`;
      const coincident = median([...pac.values()].flatMap((xs) => xs.map((x) => x.coincident ?? NaN)));
      p(
        `\n### Added latency at ${rate} req/s paced${shape}, ${connections} connections (${latencyTool}${latencyTool === 'h2load' ? ', µs per request' : ', 1 ms resolution'}; ms over direct, median of per-round differences)\n`,
      );
      if (!Number.isNaN(coincident))
        p(
          `Requests started within 0.2 ms of the one before: ${fmt(coincident, 0)} % (median over paths and rounds).\n`,
        );
      p('| path | added p50 | added p90 | added p99 | p50 / p90 / p99 (absolute) | achieved req/s | errors |');
      p('| --- | --- | --- | --- | --- | --- | --- |');
      for (const s of scenarios) {
        const abs = [50, 90, 99]
          .map((q) =>
            fmt(
              med(pac, s.name, (x) => (q === 50 ? x.p50 : q === 90 ? x.p90 : x.p99)),
              3,
            ),
          )
          .join(' / ');
        const errors = (pac.get(s.name) as Sample[]).reduce((a, x) => a + x.errors, 0);
        const row =
          s.name === direct
            ? '– | – | –'
            : `${fmt(
                added(s.name, (x) => x.p50),
                3,
              )} | ${fmt(
                added(s.name, (x) => x.p90),
                3,
              )} | ${fmt(
                added(s.name, (x) => x.p99),
                3,
              )}`;
        p(`| ${s.name} | ${row} | ${abs} | ${Math.round(med(pac, s.name, (x) => x.rps))} | ${errors} |`);
      }
    }
    p(`\nTargets (full path): added p90 ≤ 1 ms, p99 ≤ 2 ms.`);
    if (stallsOn)
      for (const k of pacings) {
        p(
          `\n### Main-thread stalls of the proxies during the paced runs (${k}; --stalls; medians of ${rounds} rounds; GC summed over a path's proxies, event-loop delay of its worst proxy)\n`,
        );
        p('| path | GC pauses | GC ms per s | longest GC ms | event-loop delay p99 ms | event-loop delay max ms |');
        p('| --- | --- | --- | --- | --- | --- |');
        for (const s of scenarios) {
          const xs = stallsBy.get(k)?.get(s.name) ?? [];
          if (!xs.length) continue;
          const m = (f: (x: Stalls) => number, d = 2) => fmt(median(xs.map(f)), d);
          p(
            `| ${s.name} | ${m((x) => x.gcCount, 0)} | ${m((x) => x.gcMs / pacedSeconds)} | ${m((x) => x.gcMax)} | ${m((x) => x.eldP99)} | ${m((x) => x.eldMax)} |`,
          );
        }
      }
    if (syscallsOn)
      for (const k of pacings) {
        p(
          `\n### Syscalls and context switches per request per proxy, paced (${k}; --syscalls, perf stat; medians of ${rounds} rounds; blank: not counted)\n`,
        );
        const short = SYSCALL_EVENTS.map((e) => e.replace('syscalls:sys_enter_', ''));
        p(`| path | ${short.join(' | ')} |`);
        p(`| --- | ${short.map(() => '---').join(' | ')} |`);
        for (const s of scenarios) {
          const xs = syscallsBy.get(k)?.get(s.name) ?? [];
          if (!xs.length) continue;
          const cols = SYSCALL_EVENTS.map((e) => {
            const v = xs.map((m) => m.get(e)).filter((x) => x !== undefined) as number[];
            return v.length ? fmt(median(v)) : '';
          });
          p(`| ${s.name} | ${cols.join(' | ')} |`);
        }
      }
    p(`\n### CPU per proxy process (ms per 1000 requests = vCPU per 1000 rps × 1000; median of ${rounds} rounds)\n`);
    p(`| path | ${pacings.map((k) => `at ${rate} req/s paced (${k})`).join(' | ')} | at saturation (${tool}) |`);
    p(`| --- | ${pacings.map(() => '---').join(' | ')} | --- |`);
    for (const s of scenarios) {
      if (!s.procs.length) continue;
      const pacedCols = pacings.map((k) =>
        fmt(median((cpuBy.get(k) as Map<string, number[]>).get(s.name) as number[]), 1),
      );
      p(`| ${s.name} | ${pacedCols.join(' | ')} | ${fmt(median(cpuSat.get(s.name) as number[]), 1)} |`);
    }
    const overhead = (m: Map<string, number[]>) => {
      const plain = m.get('tsmesh, two hops') ?? [];
      const tls = m.get(MTLS) ?? [];
      return median(tls.map((t, i) => ((t - plain[i]) / plain[i]) * 100));
    };
    const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]));
    for (const name of abPairs) {
      const base = baseName(name);
      const perRound = (m: Map<string, number[]>) =>
        (m.get(name) ?? []).map((x, i) => `${fmt(x, 1)}/${fmt((m.get(base) ?? [])[i], 1)}`).join(', ');
      const addedP90 = (row: string) =>
        median(
          (pacBy.get(pacings[0])?.get(row) ?? []).map(
            (x, i) => x.p90 - ((pacBy.get(pacings[0])?.get(direct) ?? [])[i]?.p90 ?? NaN),
          ),
        );
      p(
        `\nCurrent build / baseline build, ${name} (paired per round, median): CPU per request ${fmt(ratio(cpuPaced.get(name) ?? [], cpuPaced.get(base) ?? []))}x paced (${pacings[0]}; rounds current/baseline ms per 1000 requests: ${perRound(cpuPaced)}), ${fmt(ratio(cpuSat.get(name) ?? [], cpuSat.get(base) ?? []))}x at saturation (${perRound(cpuSat)}); throughput ${fmt(
          ratio(
            (sat.get(name) ?? []).map((x) => x.rps),
            (sat.get(base) ?? []).map((x) => x.rps),
          ),
        )}x; added p90 paced ${fmt(addedP90(name), 3)} vs ${fmt(addedP90(base), 3)} ms.`,
      );
    }
    p(
      `\nmTLS extra CPU per request, two hops (mTLS vs plaintext, paired per round, median): ${pacings.map((k) => `${fmt(overhead(cpuBy.get(k) as Map<string, number[]>), 1)} % at ${rate} req/s paced (${k})`).join(', ')}, ${fmt(overhead(cpuSat), 1)} % at saturation (target ≤ 25 %).`,
    );

    // Connection reuse on the TLS hops, from the proxies' own /stats.
    p(`\n### Connection reuse on the mTLS hops (proxies' /stats, whole run incl. warm-up)\n`);
    p('| path | upstream_rq_total | upstream_cx_total | requests per connection | server listener ssl.handshake |');
    p('| --- | --- | --- | --- | --- |');
    for (const [name, client, server, cluster] of [
      [MTLS, mtlsB, mtlsA, 'up'],
      [FULL, sidecarClient, sidecarServer, UP_CLUSTER],
      [FULL100, sidecarClient100, sidecarServer100, UP_CLUSTER],
    ] as const) {
      const cs = await stats(client.admin as string);
      const ss = await stats(server.admin as string);
      const rq = cs.get(`cluster.${cluster}.upstream_rq_total`) ?? NaN;
      const cx = cs.get(`cluster.${cluster}.upstream_cx_total`) ?? NaN;
      const hs = [...ss.entries()].filter(([k]) => k.endsWith('ssl.handshake')).reduce((a, [, v]) => a + v, 0);
      p(`| ${name} | ${rq} | ${cx} | ${fmt(rq / cx, 0)} | ${hs} |`);
    }

    // RSS.
    p(`\n### Sidecar RSS\n`);
    p('| sidecar | RSS MB |');
    p('| --- | --- |');
    for (const [name, proc] of [
      ['tsmesh one hop (one cluster), after the load', hop1],
      ['tsmesh one hop (one cluster) with the sidecar V8 flags, after the load', hop1v8],
      ['full-path client sidecar (mTLS, telemetry), after the load', sidecarClient],
    ] as const)
      p(`| ${name} | ${fmt(rssMb(proc.child.pid), 1)} |`);
    if (flag('no-rss')) p('\n(RSS with a Pilot-generated config skipped: --no-rss)');
    else if (!existsSync(join(ROOT, 'dist/apps/pilot/main.js')) || !existsSync(join(ROOT, 'dist/apps/proxy/main.js')))
      p('\n(RSS with a Pilot-generated config skipped: build pilot and proxy first)');
    else {
      await sidecarRssRows(services, upstream.port, dir, children, p);
    }
    p(`\nTotal run time ${Math.round((Date.now() - startedAt) / 1000)} s.`);
    console.log(out.join('\n'));
  } finally {
    // SIGINT first so roles under --cpu-prof write their profiles.
    for (const c of children) c.kill('SIGINT');
    // Up to 1 s for them to exit (15 s under --cpu-prof: a large profile takes a while to write).
    const grace = arg('cpu-prof', '') ? 15_000 : 1000;
    await Promise.race([
      Promise.all(
        children.map((c) =>
          c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)),
        ),
      ),
      new Promise((r) => setTimeout(r, grace)),
    ]);
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
