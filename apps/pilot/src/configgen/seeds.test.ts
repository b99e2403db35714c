/**
 * Every YAML listing of the seed documents (mesh-config's fixtures) loads into
 * Pilot and generates valid Envoy config; routing listings send a request to
 * their host to an Istio-named outbound cluster.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packAny } from '@tsmesh/protocol';
import { parseAllDocuments, stringify } from 'yaml';
import { ConfigStore, type MeshObject } from '@tsmesh/mesh-config';
import { defaultMeshSettings } from '../model/mesh';
import { buildPushContext, fqdn } from '../model/push-context';
import { parseNode } from '../model/proxy';
import { applyFile } from '../registry/apply';
import { simulate } from '../testing/simulate';
import { generate } from './generator';
import { TYPE, type Msg } from './names';

const SEEDS = join(__dirname, '../../../../libs/mesh-config/src/__fixtures__/seeds');

function hostsOf(o: MeshObject): string[] {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const out = new Set<string>();
  for (const h of (spec['hosts'] as string[] | undefined) ?? []) out.add(h);
  if (typeof spec['host'] === 'string') out.add(spec['host']);
  for (const kind of ['http', 'tcp', 'tls'])
    for (const r of (spec[kind] as Msg[] | undefined) ?? [])
      for (const d of (r['route'] as Msg[] | undefined) ?? []) {
        const dest = d['destination'] as Msg | undefined;
        if (dest && typeof dest['host'] === 'string') out.add(dest['host']);
      }
  return [...out].filter((h) => h !== '*' && !h.startsWith('*.'));
}

function serviceYaml(host: string, ns: string): string {
  const f = fqdn(host, ns, 'cluster.local');
  const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(f);
  if (m)
    return stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: m[1], namespace: m[2] },
      spec: { clusterIP: '10.96.9.9', ports: [{ name: 'http', port: 8080 }] },
    });
  return stringify({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'ServiceEntry',
    metadata: { name: `se-${f}`, namespace: ns },
    spec: { hosts: [f], ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' },
  });
}

const files = readdirSync(SEEDS).filter((f) => f.endsWith('.yaml'));

describe('seed listings', () => {
  it('has the fixtures', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(join(SEEDS, file), 'utf8'))
      .map((d) => d.toJS() as MeshObject)
      .filter(Boolean);
    docs.forEach((doc, i) => {
      it(`${file} #${i} (${doc.kind} ${doc.metadata?.name}) loads and generates`, () => {
        const store = new ConfigStore();
        const ns = doc.metadata?.namespace ?? 'default';
        const support = hostsOf(doc).map((h) => serviceYaml(h, ns));
        applyFile(store, 'support.yaml', support.join('---\n'));
        const r = applyFile(store, file, stringify(doc));
        expect(store.listRejections()).toEqual([]);
        expect(r.fileError).toBeUndefined();
        const ctx = buildPushContext(store, defaultMeshSettings(), 'v1');
        const proxy = parseNode({ id: `sidecar~10.0.0.1~client.${ns}~${ns}.svc.cluster.local`, metadata: {} });
        for (const t of [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route])
          for (const res of generate(t, proxy, ctx, []) ?? []) packAny(t, res);
        if (doc.kind === 'VirtualService' && !(doc.spec as Msg)['gateways']) {
          const [rc] = generate(TYPE.route, proxy, ctx, ['8080']) ?? [];
          const host = fqdn(hostsOf(doc)[0], ns, 'cluster.local');
          const res = simulate(rc, {
            authority: `${host}:8080`,
            path: '/',
            headers: { 'baggage-user-agent': 'x', 'user-agent': 'x' },
          });
          const cluster = res?.cluster ?? res?.weighted?.[0]?.name ?? '';
          expect(cluster).toMatch(/^outbound\|8080\|[^|]*\|/);
        }
      });
    });
  }
});
