import { isMeshError } from '@tsmesh/core';
import { istioMetaFromEnv } from '@tsmesh/dataplane';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { APP_PORT_OFFSET } from './plan';
import { CERTS_VOLUME, PROXY_CONTAINER, STATUS_ANNOTATION, kubeInject } from './kube-inject';
import { loadKustomization, type K8sObject } from './manifests';

const ROOT = join(__dirname, '../../..');
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const LAUNCH_ENV = { MALLOC_ARENA_MAX: '2' };
const inject = (text: string, o: Parameters<typeof kubeInject>[1] = {}) =>
  kubeInject(text, { launchEnv: LAUNCH_ENV, ...o });
const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj);
const depNamed = (list: Obj[], name: string): Obj => {
  const d = list.find((x) => x['kind'] === 'Deployment' && x['metadata']['name'] === name);
  if (!d) throw new Error(`no Deployment ${name}`);
  return d;
};
const envOf = (c: Obj): Record<string, unknown> =>
  Object.fromEntries((c['env'] ?? []).map((e: Obj) => [e['name'], e['value'] ?? e['valueFrom']]));

/** What `kubectl kustomize k8s/overlays/demo` prints, from the repository's own loader. */
const demoObjects = (): K8sObject[] => loadKustomization(join(ROOT, 'k8s/overlays/demo'));
const demoText = () =>
  demoObjects()
    .map((o) => stringify(o))
    .join('---\n');

describe('kube-inject on the demo install', () => {
  const input = demoText();
  const out = inject(input);
  const before = docs(input);
  const after = docs(out);

  test('documents keep their order, and every non-workload document is unchanged', () => {
    expect(after.map((d) => `${d['kind']}/${d['metadata']?.['namespace'] ?? ''}/${d['metadata']?.['name']}`)).toEqual(
      before.map((d) => `${d['kind']}/${d['metadata']?.['namespace'] ?? ''}/${d['metadata']?.['name']}`),
    );
    before.forEach((d, i) => {
      if (d['kind'] !== 'Deployment') expect(after[i]).toEqual(d);
    });
  });

  test('every demo Deployment gets exactly one istio-proxy with the sidecar env, ports and certs volume', () => {
    const demos = after.filter((d) => d['kind'] === 'Deployment' && d['metadata']['namespace'] !== 'istio-system');
    expect(demos.length).toBeGreaterThan(5);
    for (const d of demos) {
      if (d['spec']['template']['metadata']['annotations']?.['sidecar.istio.io/inject'] === 'false') {
        expect(d).toEqual(depNamed(before, d['metadata']['name'])); // opted out in k8s/demos
        continue;
      }
      const pod = d['spec']['template'];
      const proxies = pod['spec']['containers'].filter((c: Obj) => c['name'] === PROXY_CONTAINER);
      expect(proxies).toHaveLength(1);
      const [proxy] = proxies;
      const app = pod['spec']['containers'][0];
      const appPort = app['ports'][0]['containerPort'];
      const sa = pod['spec']['serviceAccountName'] ?? 'default';
      const ours = String(app['image']).startsWith('tsmesh/');
      expect(proxy['image']).toBe('tsmesh/proxy:latest');
      expect(proxy['imagePullPolicy']).toBe('IfNotPresent');
      const env = envOf(proxy);
      expect(env).toMatchObject({
        MALLOC_ARENA_MAX: '2',
        POD_NAME: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
        POD_NAMESPACE: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
        INSTANCE_IP: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } },
        PROXY_DISCOVERY_ADDRESS: 'istio-pilot.istio-system:15010',
        PROXY_SERVICE_CLUSTER: pod['metadata']['labels']['app'],
        PROXY_LABELS: Object.entries(pod['metadata']['labels'])
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        PROXY_SERVICE_ACCOUNT: sa,
        PROXY_OUTBOUND_ADDRESS: '127.0.0.1:15001',
        PROXY_HTTP_PROXY_PORT: '15001',
        PROXY_INBOUND_ADDRESS: '',
        PROXY_BIND_INBOUND_LISTENERS: ours ? 'true' : 'false',
        PROXY_HEALTH_ADDRESS: '0.0.0.0:15021',
        PROXY_CERTS_DIR: '/etc/certs',
      });
      expect(env['PROXY_APP_ADDRESS']).toBe(ours ? `127.0.0.1:${appPort + APP_PORT_OFFSET}` : undefined);
      expect(JSON.parse(env['ISTIO_METAJSON_LABELS'] as string)).toEqual(pod['metadata']['labels']);
      expect(proxy['ports']).toEqual([{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }]);
      expect(proxy['readinessProbe']['httpGet']).toEqual({ path: '/healthz/ready', port: 15021 });
      expect(proxy['volumeMounts']).toEqual([{ name: CERTS_VOLUME, mountPath: '/etc/certs', readOnly: true }]);
      expect(pod['spec']['volumes'].filter((v: Obj) => v['name'] === CERTS_VOLUME)).toEqual([
        { name: CERTS_VOLUME, secret: { secretName: `istio.${sa}`, optional: true } },
      ]);
      expect(JSON.parse(pod['metadata']['annotations'][STATUS_ANNOTATION])).toEqual({
        version: expect.stringMatching(/^[0-9a-f]{64}$/),
        initContainers: [],
        containers: ['istio-proxy'],
        volumes: ['istio-certs'],
        imagePullSecrets: null,
      });
      const appEnv = envOf(app);
      if (ours) {
        expect(appEnv).toMatchObject({
          HOST: '127.0.0.1',
          PORT: String(appPort + APP_PORT_OFFSET),
          HTTP_PROXY: 'http://127.0.0.1:15001',
          POD_NAME: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
        });
      } else {
        // a foreign image (postgres) keeps its port and environment
        const orig = depNamed(before, d['metadata']['name']);
        expect(app).toEqual(orig['spec']['template']['spec']['containers'][0]);
      }
    }
  });

  test('the app env keeps its own variables', () => {
    const orig = before.find(
      (d) => d['kind'] === 'Deployment' && envOf(d['spec']['template']['spec']['containers'][0])['DATABASE_URL'],
    );
    if (!orig) throw new Error('no Deployment with DATABASE_URL in the demos');
    const inj = depNamed(after, orig['metadata']['name']);
    expect(envOf(inj['spec']['template']['spec']['containers'][0])['DATABASE_URL']).toBe(
      envOf(orig['spec']['template']['spec']['containers'][0])['DATABASE_URL'],
    );
  });

  test('the control plane is not injected (sidecar.istio.io/inject: "false", as in Istio’s charts)', () => {
    const cp = after.filter((d) => d['kind'] === 'Deployment' && d['metadata']['namespace'] === 'istio-system');
    expect(cp.map((d) => d['metadata']['name']).sort()).toEqual([
      'istio-citadel',
      'istio-ingressgateway',
      'istio-pilot',
      'istio-policy',
      'istio-telemetry',
    ]);
    for (const d of cp) {
      expect(d['spec']['template']['metadata']['annotations']).toEqual({ 'sidecar.istio.io/inject': 'false' });
      expect(d).toEqual(depNamed(before, d['metadata']['name']));
    }
  });

  test('injecting twice equals injecting once', () => {
    expect(inject(out)).toBe(out);
  });

  test('readiness probes on the app port still probe the app, now on its moved port from inside the pod', () => {
    const d = depNamed(after, 'productpage-v1');
    const app = d['spec']['template']['spec']['containers'][0];
    expect(app['readinessProbe']['httpGet']).toBeUndefined();
    const [cmd, flag, script] = app['readinessProbe']['exec']['command'];
    expect([cmd, flag]).toEqual(['node', '-e']);
    expect(script).toContain(`"http://127.0.0.1:${9080 + APP_PORT_OFFSET}/ready"`);
  });
});

const deployment = (extra: Obj = {}, podMeta: Obj = {}, podSpec: Obj = {}) =>
  stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns1', ...extra },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', version: 'v1' }, ...podMeta },
        spec: {
          containers: [{ name: 'web', image: 'tsmesh/web:1', ports: [{ containerPort: 8080, name: 'http' }] }],
          ...podSpec,
        },
      },
    },
  });

describe('kube-inject rules', () => {
  test('every workload kind gets the sidecar in its pod template', () => {
    const c = { containers: [{ name: 'a', image: 'tsmesh/a' }] };
    const t = { metadata: {}, spec: c };
    const input = [
      { kind: 'StatefulSet', metadata: { name: 's' }, spec: { template: t } },
      { kind: 'DaemonSet', metadata: { name: 'd' }, spec: { template: t } },
      { kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { template: t } },
      { kind: 'Job', metadata: { name: 'j' }, spec: { template: t } },
      { kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: t } } } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: c },
    ]
      .map((o) => stringify({ apiVersion: 'apps/v1', ...o }))
      .join('---\n');
    const out = docs(inject(input));
    const podSpecs = [
      ...out.slice(0, 4).map((d) => d['spec']['template']['spec']),
      out[4]['spec']['jobTemplate']['spec']['template']['spec'],
      out[5]['spec'],
    ];
    for (const s of podSpecs) expect(s['containers'].map((x: Obj) => x['name'])).toEqual(['a', 'istio-proxy']);
    expect(out[5]['metadata']['annotations'][STATUS_ANNOTATION]).toBeDefined();
    // no ports declared: the app is taken to listen on 8080
    expect(envOf(podSpecs[0]['containers'][0])['PORT']).toBe(String(8080 + APP_PORT_OFFSET));
  });

  test('inject "false", hostNetwork and already-injected pods are skipped; other annotations are kept', () => {
    for (const text of [
      deployment({}, { annotations: { 'sidecar.istio.io/inject': 'false' } }),
      deployment({}, { annotations: { 'sidecar.istio.io/inject': 'off' } }),
      deployment({}, { annotations: { 'sidecar.istio.io/inject': false } }),
      deployment({}, {}, { hostNetwork: true }),
      deployment({ namespace: 'kube-system' }),
    ])
      expect(docs(inject(text))).toEqual(docs(text));
    const kept = docs(inject(deployment({}, { annotations: { 'sidecar.istio.io/inject': 'true', a: 'b' } })))[0];
    expect(Object.keys(kept['spec']['template']['metadata']['annotations'])).toEqual([
      'sidecar.istio.io/inject',
      'a',
      STATUS_ANNOTATION,
    ]);
  });

  test('the pod’s annotations and labels reach the sidecar as ISTIO_METAJSON_* and its node metadata', () => {
    const annotations = { 'policy.istio.io/check': 'disable', 'policy.istio.io/checkRetries': 3 };
    const pod = docs(inject(deployment({}, { annotations })))[0]['spec']['template'];
    const env = envOf(pod['spec']['containers'][1]);
    // as written before injection: no status annotation; the unquoted number as its text
    expect(JSON.parse(env['ISTIO_METAJSON_ANNOTATIONS'] as string)).toEqual({
      'policy.istio.io/check': 'disable',
      'policy.istio.io/checkRetries': '3',
    });
    expect(JSON.parse(env['ISTIO_METAJSON_LABELS'] as string)).toEqual({ app: 'web', version: 'v1' });
    expect(pod['metadata']['annotations'][STATUS_ANNOTATION]).toBeDefined();
    // the agent reading that environment puts the annotation where Pilot reads it
    const plainEnv = Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    expect(istioMetaFromEnv(plainEnv)).toMatchObject({
      'policy.istio.io/check': 'disable',
      'policy.istio.io/checkRetries': '3',
      app: 'web',
      LABELS: { app: 'web', version: 'v1' },
    });

    // no annotations (or labels) on the pod: no variable, as Istio's template
    const bare = docs(inject(deployment({}, { labels: {} })))[0]['spec']['template'];
    const bareEnv = envOf(bare['spec']['containers'][1]);
    expect(bareEnv).not.toHaveProperty('ISTIO_METAJSON_ANNOTATIONS');
    expect(bareEnv).not.toHaveProperty('ISTIO_METAJSON_LABELS');
  });

  test('flags: proxy image and discovery address; service account from the pod spec', () => {
    const out = docs(
      inject(deployment({}, {}, { serviceAccountName: 'web-sa' }), {
        proxyImage: 'registry.local/proxy:7',
        discoveryAddress: 'pilot.example:15010',
      }),
    )[0];
    const spec = out['spec']['template']['spec'];
    const proxy = spec['containers'][1];
    expect(proxy['image']).toBe('registry.local/proxy:7');
    expect(envOf(proxy)['PROXY_DISCOVERY_ADDRESS']).toBe('pilot.example:15010');
    expect(envOf(proxy)['PROXY_SERVICE_ACCOUNT']).toBe('web-sa');
    expect(spec['volumes']).toEqual([{ name: 'istio-certs', secret: { secretName: 'istio.web-sa', optional: true } }]);
  });

  test('probes: named app port → exec on the moved port (headers kept); other ports untouched', () => {
    const text = deployment(
      {},
      {},
      {
        containers: [
          {
            name: 'web',
            image: 'tsmesh/web',
            ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9000 }],
            env: [
              { name: 'PORT', value: '8080' },
              { name: 'KEEP', value: 'x' },
            ],
            livenessProbe: {
              httpGet: { path: '/live', port: 'http', httpHeaders: [{ name: 'X-A', value: '1' }] },
              periodSeconds: 7,
            },
            readinessProbe: { httpGet: { path: '/r', port: 9000 } },
          },
        ],
      },
    );
    const app = docs(inject(text))[0]['spec']['template']['spec']['containers'][0];
    expect(app['livenessProbe']['periodSeconds']).toBe(7);
    expect(app['livenessProbe']['exec']['command'][2]).toContain(`"http://127.0.0.1:${8080 + APP_PORT_OFFSET}/live"`);
    expect(app['livenessProbe']['exec']['command'][2]).toContain('{"X-A":"1"}');
    expect(app['readinessProbe']).toEqual({ httpGet: { path: '/r', port: 9000 } });
    // PORT replaced, not duplicated; the app's own variables first
    expect(app['env'].map((e: Obj) => e['name'])).toEqual([
      'KEEP',
      'HOST',
      'PORT',
      'HTTP_PROXY',
      'NO_PROXY',
      'POD_NAME',
      'POD_NAMESPACE',
    ]);
  });

  test('the exec probe script succeeds for 2xx/3xx and fails otherwise (run against a local server)', async () => {
    const { createServer } = await import('node:http');
    const { execFile } = await import('node:child_process');
    let status = 200;
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/ok' && req.headers['x-a'] === '1' ? status : 500;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const text = deployment(
      {},
      {},
      {
        containers: [
          {
            name: 'web',
            image: 'tsmesh/web',
            ports: [{ containerPort: port - APP_PORT_OFFSET }],
            readinessProbe: {
              httpGet: { path: '/ok', port: port - APP_PORT_OFFSET, httpHeaders: [{ name: 'X-A', value: '1' }] },
            },
          },
        ],
      },
    );
    if (port - APP_PORT_OFFSET < 1) {
      server.close();
      return; // the kernel gave a port below the offset; nothing to map it from
    }
    const [cmd, ...args] = docs(inject(text))[0]['spec']['template']['spec']['containers'][0]['readinessProbe']['exec'][
      'command'
    ];
    const run = () =>
      new Promise<number>((r) =>
        execFile(cmd === 'node' ? process.execPath : cmd, args, (e) => r(e ? Number(e.code ?? 1) : 0)),
      );
    try {
      expect(await run()).toBe(0);
      status = 302;
      expect(await run()).toBe(0);
      status = 503;
      expect(await run()).toBe(1);
    } finally {
      server.close();
    }
  });

  test('List items, comments and empty documents', () => {
    const list = stringify({ apiVersion: 'v1', kind: 'List', items: [docs(deployment())[0]] });
    const out = docs(inject(`---\n# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${list}`));
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    expect(out[1]['items'][0]['spec']['template']['spec']['containers'][1]['name']).toBe('istio-proxy');
  });

  test('YAML merge keys are resolved (as kubectl reads them) before the labels become PROXY_LABELS', () => {
    const text =
      'kind: Pod\nmetadata:\n  name: p\n  annotations: &a {team: x}\n  labels: {<<: *a, app: a}\n' +
      'spec: {containers: [{name: a, image: tsmesh/a}]}\n';
    const pod = docs(inject(text))[0];
    expect(pod['metadata']['labels']).toEqual({ team: 'x', app: 'a' });
    expect(envOf(pod['spec']['containers'][1])['PROXY_LABELS']).toBe('team=x,app=a');
  });

  const errorOf = (text: string) => {
    try {
      inject(text);
    } catch (e) {
      expect(isMeshError(e)).toBe(true);
      return `${(e as { code: string }).code}: ${(e as Error).message}`;
    }
    throw new Error('no error');
  };

  test('bad documents: a coded error naming the document index, kind, name and field', () => {
    const ok = 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n';
    expect(errorOf(`${ok}---\n- a list\n`)).toBe(
      'CLI_ERR_KUBE_INJECT: document 1 (no kind <unnamed>): (document): not a Kubernetes object (a mapping); nothing was written',
    );
    expect(errorOf(`${ok}---\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n`)).toBe(
      'CLI_ERR_KUBE_INJECT: document 1 (Deployment web): spec.template: missing or not a mapping; nothing was written',
    );
    expect(errorOf('kind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {spec: {}}}}}\n')).toBe(
      'CLI_ERR_KUBE_INJECT: document 0 (CronJob c): spec.jobTemplate.spec.template.spec.containers: must be a non-empty list; nothing was written',
    );
    expect(
      errorOf(
        deployment(
          {},
          {},
          {
            containers: [
              { name: 'web', image: 'tsmesh/web' },
              { name: 'istio-proxy', image: 'x' },
            ],
          },
        ),
      ),
    ).toMatch(
      /^CLI_ERR_KUBE_INJECT: document 0 \(Deployment web\): spec\.template\.spec\.containers\[1\]\.name: istio-proxy is taken/,
    );
    expect(errorOf(deployment({}, {}, { containers: [{ image: 'tsmesh/web' }] }))).toMatch(
      /spec\.template\.spec\.containers\[0\]\.name: every container needs a name/,
    );
    expect(
      errorOf(
        'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: tsmesh/a, readinessProbe: {httpGet: {port: web}}}]}\n',
      ),
    ).toBe(
      'CLI_ERR_KUBE_INJECT: document 0 (Pod p): spec.containers[0].readinessProbe.httpGet.port: port "web" is not a container port; nothing was written',
    );
    expect(errorOf('kind: Pod\nmetadata: {name: p\n')).toMatch(/^CLI_ERR_KUBE_INJECT: document 0: line \d+: /);
  });
});
