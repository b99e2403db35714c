/** Start-up failures of the built sidecar: one clear line on stderr and exit code 2. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { distPath, httpRequest, makeTestCert, startApp, stopAllApps, tempDir, workspaceRoot } from '@tsmesh/testing';

const dir = tempDir('proxy-startup-');

beforeAll(() => {
  if (!existsSync(distPath('proxy'))) {
    execFileSync('npx', ['nx', 'build', 'proxy', '--skip-nx-cache', '--outputStyle=static'], {
      cwd: workspaceRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  }
}, 120_000);
afterAll(() => dir.cleanup());

function run(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [distPath('proxy'), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr };
}

it.each([
  [
    ['--config-path', '/nonexistent/bootstrap.yaml'],
    /^proxy: PROXY_ERR_BOOTSTRAP_READ: cannot read bootstrap \/nonexistent\/bootstrap\.yaml: ENOENT\n$/,
  ],
  [['--discovery-address', 'pilot'], /^proxy: PROXY_ERR_BAD_ADDRESS: invalid address pilot for --discovery-address/],
  [['--service-node', 'gateway~1~2'], /^proxy: PROXY_ERR_BAD_SERVICE_NODE: /],
  [['--drain-duration', 'soon'], /^proxy: CORE_ERR_BAD_SETTING: /],
])('%j fails with one line and exit 2', (args, line) => {
  const r = run(args as string[]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(line);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
});

it('names the bad field of an invalid bootstrap', () => {
  const file = join(dir.path, 'bad.yaml');
  writeFileSync(file, 'node: {id: x}\nstatic_resources:\n  clusters:\n  - name: a\n    connect_timeout: soon\n');
  const r = run(['--config-path', file, '--admin-address', '127.0.0.1:0']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('PROXY_ERR_BOOTSTRAP_INVALID');
  expect(r.stderr).toContain('static_resources.clusters[0].connect_timeout');
});

describe('workload identity from --certs-dir (Istio 1.0 secret mode)', () => {
  it('serves SDS default/ROOTCA from the cert files and is ready only with them', async () => {
    const certs = join(dir.path, 'certs');
    mkdirSync(certs);
    const cert = makeTestCert('reviews', {
      dns: ['reviews.default.svc.cluster.local'],
      uri: ['spiffe://cluster.local/ns/default/sa/bookinfo-reviews'],
    });
    writeFileSync(join(certs, 'cert-chain.pem'), cert.cert);
    writeFileSync(join(certs, 'key.pem'), cert.key);
    writeFileSync(join(certs, 'root-cert.pem'), cert.ca);
    const bootstrap = join(dir.path, 'tls.yaml');
    writeFileSync(
      bootstrap,
      `
node: {id: "sidecar~127.0.0.1~reviews-v1.default~default.svc.cluster.local", cluster: reviews}
static_resources:
  listeners:
  - name: mtls
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            tls_certificate_sds_secret_configs: [{name: default}]
            alpn_protocols: [http/1.1]
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: mtls
          route_config: {name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200, body: {inline_string: "secure"}}}]}]}
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
`,
    );
    try {
      const proxy = await startApp('proxy', {
        args: [
          '--config-path',
          bootstrap,
          '--certs-dir',
          certs,
          '--admin-address',
          '127.0.0.1:0',
          '--prometheus-address',
          '',
          '--health-address',
          '127.0.0.1:0',
        ],
        ready: { listeners: ['admin', 'mtls'], http: '/healthz/ready', httpListener: 'health' },
      });
      const [host, port] = proxy.addresses['mtls'].split(':');
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(
            {
              host,
              port: Number(port),
              path: '/',
              ca: cert.ca,
              servername: 'reviews.default.svc.cluster.local',
              agent: false,
            },
            (res) => {
              let b = '';
              res.on('data', (c) => (b += c));
              res.on('end', () => resolve(b));
            },
          )
          .on('error', reject);
      });
      expect(body).toBe('secure');
      const stats = await httpRequest(`${proxy.url('admin')}/stats?filter=identity`);
      expect(stats.body).toMatch(/identity\.cert_expiry_timestamp_seconds: [1-9]\d+/);
    } finally {
      await stopAllApps();
    }
  }, 60_000);
});
