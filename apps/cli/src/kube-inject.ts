/**
 * `tsmesh kube-inject`: Istio's offline injector (`istioctl kube-inject`). Reads multi-document
 * Kubernetes YAML and adds the `istio-proxy` sidecar to every workload's pod template, the way
 * docker-compose.yml runs `<name>-proxy` next to each app (the environment comes from the same
 * functions in compose.ts). Documents that are not workloads, and pods that are not injected, are
 * written back as they were, in order.
 *
 * Istio 1.0 semantics kept: pods annotated `sidecar.istio.io/inject: "false"` (or n/no/off), pods
 * with hostNetwork, pods in kube-system/kube-public and pods that already carry
 * `sidecar.istio.io/status` are left alone (so injecting twice equals injecting once). The
 * workload identity is Istio 1.0's secret mode: the Secret `istio.<serviceaccount>` mounted at
 * /etc/certs (optional, so pods start before Citadel has written it). As Istio's injection
 * template, the sidecar gets the pod's annotations and labels as JSON in ISTIO_METAJSON_ANNOTATIONS
 * and ISTIO_METAJSON_LABELS (each only when the pod has some), which the agent merges into its node
 * metadata.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Document, isMap, parseAllDocuments } from 'yaml';
import { appSidecarEnv, sidecarProxyEnv } from './compose';
import { cliErrors } from './errors';
import { APP_PORT_OFFSET, sidecarLaunchEnv } from './plan';
import { findRoot } from './root';

export const STATUS_ANNOTATION = 'sidecar.istio.io/status';
export const INJECT_ANNOTATION = 'sidecar.istio.io/inject';
export const PROXY_CONTAINER = 'istio-proxy';
export const CERTS_VOLUME = 'istio-certs';
export const HEALTH_PORT = 15021;
const IGNORED_NAMESPACES = new Set(['kube-system', 'kube-public']);

export interface KubeInjectOptions {
  proxyImage: string;
  /** Pilot's xDS address as the pods reach it. */
  discoveryAddress: string;
  /** apps/proxy/launch.json's env; read from the repository when not given. */
  launchEnv?: Record<string, string>;
}

export const KUBE_INJECT_DEFAULTS: KubeInjectOptions = {
  proxyImage: 'tsmesh/proxy:latest',
  discoveryAddress: 'istio-pilot.istio-system:15010',
};

type Obj = Record<string, unknown>;
type EnvVar = { name: string; value?: string; valueFrom?: Obj };

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Where each workload kind keeps its pod template (path below the object). */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  Pod: [],
};

class DocError extends Error {
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(why);
  }
}

function fail(field: string, why: string): never {
  throw new DocError(field, why);
}

/** Istio's injection-policy reading of the annotation: only an explicit no turns it off. */
function injectionDisabled(annotations: Obj): boolean {
  const v = annotations[INJECT_ANNOTATION];
  // (an unquoted `false` is a YAML boolean; kubectl would reject it, but its intent is plain)
  return (
    (typeof v === 'string' || typeof v === 'boolean') && ['n', 'no', 'false', 'off'].includes(String(v).toLowerCase())
  );
}

/** A port reference (number or container port name) resolved against the container's ports. */
function resolvePort(port: unknown, container: Obj): number | null {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const ports = Array.isArray(container['ports']) ? (container['ports'] as Obj[]) : [];
  const named = ports.find((p) => isObj(p) && p['name'] === port);
  return named ? Number(named['containerPort']) : null;
}

/**
 * An httpGet probe on the app's own port, rewritten for the moved app. The app now listens on
 * 127.0.0.1:<port + APP_PORT_OFFSET>, which the kubelet (probing the pod IP from the node) cannot
 * reach, and pointing it at the sidecar's 15021 would only say the proxy is up. So the probe
 * becomes an exec probe in the app container that makes the same GET (path, headers, scheme)
 * against the moved port from inside the pod: it still fails exactly when the app does.
 * Success is 200-399, as for the kubelet's httpGet.
 */
function rewriteProbe(probe: unknown, container: Obj, appPort: number, field: string): unknown {
  if (!isObj(probe) || !isObj(probe['httpGet'])) return probe;
  const get = probe['httpGet'];
  const port = resolvePort(get['port'], container);
  if (port === null) fail(`${field}.httpGet.port`, `port ${JSON.stringify(get['port'])} is not a container port`);
  if (port !== appPort) return probe;
  const headers: Record<string, string> = {};
  for (const h of (Array.isArray(get['httpHeaders']) ? get['httpHeaders'] : []) as Obj[])
    if (isObj(h)) headers[String(h['name'])] = String(h['value'] ?? '');
  const https = String(get['scheme'] ?? 'HTTP').toUpperCase() === 'HTTPS';
  const url = `${https ? 'https' : 'http'}://127.0.0.1:${appPort + APP_PORT_OFFSET}${String(get['path'] ?? '/')}`;
  const script =
    `const r=require('${https ? 'https' : 'http'}').get(${JSON.stringify(url)},` +
    `{headers:${JSON.stringify(headers)}${https ? ',rejectUnauthorized:false' : ''}},` +
    `(s)=>{s.resume();process.exit(s.statusCode>=200&&s.statusCode<400?0:1)});` +
    `r.on('error',()=>process.exit(1))`;
  const { httpGet: _httpGet, ...rest } = probe;
  return { exec: { command: ['node', '-e', script] }, ...rest };
}

/**
 * Annotations or labels as the string map Kubernetes holds (an unquoted YAML number or boolean
 * becomes its text, as kubectl would have to be given it); nested values and nulls are left out.
 */
function stringMap(m: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m))
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  return out;
}

/** Sets env vars by name on a container (replacing same-named entries, keeping the others' order). */
function setEnv(container: Obj, vars: EnvVar[], field: string): void {
  const env = container['env'] ?? [];
  if (!Array.isArray(env)) fail(`${field}.env`, 'must be a list');
  const names = new Set(vars.map((v) => v.name));
  container['env'] = [...(env as EnvVar[]).filter((e) => !(isObj(e) && names.has(e.name))), ...vars];
}

const fieldRef = (name: string, path: string): EnvVar => ({
  name,
  valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: path } },
});

/** The downward-API names the sidecar (and the app) read. */
const DOWNWARD: Record<string, string> = {
  POD_NAME: 'metadata.name',
  POD_NAMESPACE: 'metadata.namespace',
  INSTANCE_IP: 'status.podIP',
};

function statusVersion(o: KubeInjectOptions, launchEnv: Record<string, string>): string {
  return createHash('sha256')
    .update(JSON.stringify({ image: o.proxyImage, discovery: o.discoveryAddress, launchEnv }))
    .digest('hex');
}

/**
 * Injects one pod template in place. `meta` is the template's metadata (or the Pod's), `spec` its
 * spec. Returns false when the pod is not injected.
 */
function injectPod(
  meta: Obj,
  spec: Obj,
  ctx: { namespace: string; workload: string; field: string },
  o: KubeInjectOptions,
  launchEnv: Record<string, string>,
): boolean {
  const annotations = (meta['annotations'] ?? {}) as Obj;
  if (!isObj(annotations)) fail(`${ctx.field}metadata.annotations`, 'must be a mapping');
  if (annotations[STATUS_ANNOTATION] !== undefined) return false;
  if (injectionDisabled(annotations) || spec['hostNetwork'] === true || IGNORED_NAMESPACES.has(ctx.namespace))
    return false;
  const containers = spec['containers'];
  if (!Array.isArray(containers) || containers.length === 0)
    fail(`${ctx.field}spec.containers`, 'must be a non-empty list');
  containers.forEach((c, i) => {
    if (!isObj(c) || typeof c['name'] !== 'string' || !c['name'])
      fail(`${ctx.field}spec.containers[${i}].name`, 'every container needs a name');
    if (c['name'] === PROXY_CONTAINER)
      fail(
        `${ctx.field}spec.containers[${i}].name`,
        `${PROXY_CONTAINER} is taken but the pod has no ${STATUS_ANNOTATION}`,
      );
  });
  const volumes = spec['volumes'] ?? [];
  if (!Array.isArray(volumes)) fail(`${ctx.field}spec.volumes`, 'must be a list');
  if ((volumes as Obj[]).some((v) => isObj(v) && v['name'] === CERTS_VOLUME))
    fail(`${ctx.field}spec.volumes`, `volume ${CERTS_VOLUME} is taken but the pod has no ${STATUS_ANNOTATION}`);
  const labels = (meta['labels'] ?? {}) as Record<string, string>;
  if (!isObj(labels)) fail(`${ctx.field}metadata.labels`, 'must be a mapping');
  const serviceAccount = typeof spec['serviceAccountName'] === 'string' ? spec['serviceAccountName'] : 'default';

  const app = containers[0] as Obj;
  const appPorts = Array.isArray(app['ports']) ? (app['ports'] as Obj[]) : [];
  const first = appPorts.find((p) => isObj(p) && p['containerPort'] !== undefined);
  const appPort = first ? Number(first['containerPort']) : 8080;
  if (!Number.isInteger(appPort) || appPort < 1 || appPort + APP_PORT_OFFSET > 65535)
    fail(
      `${ctx.field}spec.containers[0].ports[0].containerPort`,
      `${String(first?.['containerPort'])} cannot be moved by ${APP_PORT_OFFSET}`,
    );
  // Our images honour HOST/PORT and HTTP_PROXY; a foreign image (postgres) keeps its port, so
  // its sidecar must not take it: it only gets outbound capture and the pod's mesh identity.
  const ours = /^(?:[^/]+\/)?tsmesh\/[a-z0-9-]+(?::.*)?$/.test(String(app['image'] ?? ''));

  const env = sidecarProxyEnv({
    launchEnv,
    podName: '',
    namespace: '',
    instanceIp: '',
    discoveryAddress: o.discoveryAddress,
    serviceCluster: labels['app'] ?? ctx.workload,
    labels,
    serviceAccount,
    // Istio keeps Envoy's admin on loopback (kubectl port-forward reaches it)
    adminAddress: `127.0.0.1:15000`,
    appPort,
  });
  if (!ours) {
    env['PROXY_BIND_INBOUND_LISTENERS'] = 'false';
    delete env['PROXY_APP_ADDRESS'];
  }
  Object.assign(env, {
    // the kubelet and Prometheus reach these on the pod IP
    PROXY_HEALTH_ADDRESS: `0.0.0.0:${HEALTH_PORT}`,
    PROXY_PROMETHEUS_ADDRESS: '0.0.0.0:15090',
    PROXY_CERTS_DIR: '/etc/certs',
  });
  // Istio's injection template: the pod's annotations (as they were before injection, without the
  // status annotation written below) and labels as JSON, each only when there are any; the agent
  // merges their entries into the node metadata, where Pilot reads `policy.istio.io/check` & co.
  const podAnnotations = stringMap(annotations);
  if (Object.keys(podAnnotations).length) env['ISTIO_METAJSON_ANNOTATIONS'] = JSON.stringify(podAnnotations);
  const podLabels = stringMap(labels);
  if (Object.keys(podLabels).length) env['ISTIO_METAJSON_LABELS'] = JSON.stringify(podLabels);
  const proxyEnv: EnvVar[] = Object.entries(env).map(([name, value]) =>
    DOWNWARD[name] ? fieldRef(name, DOWNWARD[name]) : { name, value },
  );

  if (ours) {
    const field = `${ctx.field}spec.containers[0]`;
    setEnv(
      app,
      [
        ...Object.entries(appSidecarEnv(appPort, 'localhost,127.0.0.1')).map(([name, value]) => ({ name, value })),
        fieldRef('POD_NAME', DOWNWARD['POD_NAME']),
        fieldRef('POD_NAMESPACE', DOWNWARD['POD_NAMESPACE']),
      ],
      field,
    );
    for (const p of ['readinessProbe', 'livenessProbe', 'startupProbe'])
      if (app[p] !== undefined) app[p] = rewriteProbe(app[p], app, appPort, `${field}.${p}`);
  }

  containers.push({
    name: PROXY_CONTAINER,
    image: o.proxyImage,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    env: proxyEnv,
    readinessProbe: {
      httpGet: { path: '/healthz/ready', port: HEALTH_PORT },
      initialDelaySeconds: 1,
      periodSeconds: 2,
      failureThreshold: 30,
    },
    volumeMounts: [{ name: CERTS_VOLUME, mountPath: '/etc/certs', readOnly: true }],
  });
  spec['volumes'] = [
    ...(volumes as Obj[]),
    { name: CERTS_VOLUME, secret: { secretName: `istio.${serviceAccount}`, optional: true } },
  ];
  meta['annotations'] = {
    ...annotations,
    [STATUS_ANNOTATION]: JSON.stringify({
      version: statusVersion(o, launchEnv),
      initContainers: [],
      containers: [PROXY_CONTAINER],
      volumes: [CERTS_VOLUME],
      imagePullSecrets: null,
    }),
  };
  return true;
}

/** Injects one object in place (List items too); returns whether anything changed. */
function injectObject(obj: Obj, o: KubeInjectOptions, launchEnv: Record<string, string>, field = ''): boolean {
  const kind = obj['kind'];
  if (kind === 'List' && Array.isArray(obj['items'])) {
    let changed = false;
    (obj['items'] as unknown[]).forEach((item, i) => {
      if (isObj(item) && injectObject(item, o, launchEnv, `${field}items[${i}].`)) changed = true;
    });
    return changed;
  }
  if (typeof kind !== 'string' || !(kind in TEMPLATE_PATHS)) return false;
  const metadata = (obj['metadata'] ?? {}) as Obj;
  if (!isObj(metadata)) fail(`${field}metadata`, 'must be a mapping');
  let tmpl: unknown = obj;
  const path = TEMPLATE_PATHS[kind];
  for (let i = 0; i < path.length; i++) {
    tmpl = isObj(tmpl) ? tmpl[path[i]] : undefined;
    if (!isObj(tmpl)) fail(`${field}${path.slice(0, i + 1).join('.')}`, 'missing or not a mapping');
  }
  const t = tmpl as Obj;
  // the template's path with a trailing dot ('' for a bare Pod), the prefix of its fields
  const tField = path.length ? `${field}${path.join('.')}.` : field;
  if (t['metadata'] === undefined) t['metadata'] = {};
  if (!isObj(t['metadata'])) fail(`${tField}metadata`, 'must be a mapping');
  if (!isObj(t['spec'])) fail(`${tField}spec`, 'missing or not a mapping');
  const namespace = String(metadata['namespace'] ?? (t['metadata'] as Obj)['namespace'] ?? 'default');
  return injectPod(
    t['metadata'] as Obj,
    t['spec'] as Obj,
    { namespace, workload: String(metadata['name'] ?? ''), field: tField },
    o,
    launchEnv,
  );
}

/** Injects every workload of a multi-document YAML text; other documents are written back as read. */
export function kubeInject(text: string, options: Partial<KubeInjectOptions> = {}): string {
  const o: KubeInjectOptions = { ...KUBE_INJECT_DEFAULTS, ...options };
  const launchEnv = o.launchEnv ?? sidecarLaunchEnv(join(findRoot(), 'apps/proxy'));
  const out: string[] = [];
  parseAllDocuments(text, { merge: true }).forEach((doc, index) => {
    const describe = (v: unknown) => {
      const m = isObj(v) && isObj(v['metadata']) ? v['metadata'] : {};
      return `document ${index} (${isObj(v) && typeof v['kind'] === 'string' ? v['kind'] : 'no kind'} ${typeof m['name'] === 'string' ? m['name'] : '<unnamed>'})`;
    };
    if (doc.errors.length)
      throw cliErrors.error('CLI_ERR_KUBE_INJECT', {
        doc: `document ${index}`,
        field: `line ${doc.errors[0].linePos?.[0].line ?? '?'}`,
        why: doc.errors[0].message.split('\n')[0],
      });
    if (doc.contents === null) return; // an empty document (a stray `---`)
    const value = doc.toJS({ maxAliasCount: -1 }) as unknown;
    if (!isMap(doc.contents) || !isObj(value))
      throw cliErrors.error('CLI_ERR_KUBE_INJECT', {
        doc: describe(value),
        field: '(document)',
        why: 'not a Kubernetes object (a mapping)',
      });
    let changed: boolean;
    try {
      changed = injectObject(value, o, launchEnv);
    } catch (e) {
      if (!(e instanceof DocError)) throw e;
      throw cliErrors.error('CLI_ERR_KUBE_INJECT', { doc: describe(value), field: e.field, why: e.message });
    }
    const written = changed ? new Document(value) : doc;
    // every document opens with `---`, so comments and directives stay with their own document
    if (written.directives) written.directives.docStart = true;
    out.push(written.toString());
  });
  return out.join('');
}
