/**
 * From topology + which components exist to the list of local processes: the
 * control plane, the ingress gateway, and per pod the app plus (when the proxy
 * and Pilot exist) its sidecar. With a sidecar the app binds `<pod-ip>:<port+20000>`
 * and the sidecar's inbound listener owns `<pod-ip>:<service port>`; the app
 * reaches other services through `HTTP_PROXY=http://<pod-ip>:15001` (the sidecar's
 * outbound capture listener, which serves explicit-proxy clients). Without one
 * the app binds its service port itself and calls its peers directly. A foreign
 * image with a local stand-in (the shop's postgres → one embedded PGlite) runs
 * first, without a sidecar, and the shop services get a `DATABASE_URL` to it.
 */
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Component } from './components';
import { supportedFlags } from './components';
import { mixerMeshConfig, serviceAddress } from './mesh-config';
import { podsOf, servicesOf, type PodSpec, type Topology } from './topology';

export type Role = 'control-plane' | 'gateway' | 'app' | 'sidecar';

export interface ProcessSpec {
  name: string;
  role: Role;
  pod: string;
  namespace: string;
  ip: string;
  main: string;
  args: string[];
  env: Record<string, string>;
  /** Ready when this URL answers 200, or (without one) once it has logged a `listening` line. */
  readyUrl?: string;
  /** For apps: the env before applied Deployment overrides (the supervisor re-merges on change). */
  baseEnv?: Record<string, string>;
  /** Started (and waited for) with the control plane: backing services the apps need at start-up. */
  startFirst?: boolean;
  /** Node flags before `main` on the command line (launchNodeArgs), for settings node takes only there. */
  nodeArgs?: string[];
}

/** Env of an app after an applied Deployment's env (DATABASE_URL stays the launcher's choice). */
export function withOverride(
  base: Record<string, string>,
  override: Record<string, string> | undefined,
): Record<string, string> {
  const o = { ...(override ?? {}) };
  delete o['DATABASE_URL'];
  return { ...base, ...o };
}

export interface PlanOptions {
  gatewayAddress: string;
  configDir: string;
  /** Mixer's --config-dir (config.istio.io kinds). */
  mixerConfigDir: string;
  tokensFile: string;
  citadelDir: string;
  /** Pilot's --mesh-config, written when Mixer runs (names its check/report servers). */
  meshConfigPath?: string;
  /** Where local stand-ins keep their data (`<dataDir>/<deployment>`); without it, in memory. */
  dataDir?: string;
  /** Components not to run even if built (`--without pilot,proxy`). */
  without: Set<string>;
  /** Passed to Mixer (its redisquota handlers); without it quotas use memquota. */
  redisUrl?: string;
  /** A real PostgreSQL for the shop; otherwise the postgres stand-in (one embedded PGlite) serves it. */
  databaseUrl?: string;
  logLevel?: string;
  /** Zipkin collector `host:port` given to every proxy as --zipkin-address (tracing on). */
  zipkinAddress?: string;
  /** Env overrides from applied Deployments, by `<namespace>/<name>`. */
  workloadEnv?: Map<string, Record<string, string>>;
}

export interface Link {
  label: string;
  url: string;
}

export interface Plan {
  processes: ProcessSpec[];
  /** What is not running and why. */
  missing: string[];
  notes: string[];
  /** `<token> <ns>/<sa>` lines for Citadel's bootstrap-token file. */
  tokens: string[];
  /** Pods that run (for the registry). */
  pods: PodSpec[];
  links: Link[];
  /** Files to write before starting (generated bootstraps). */
  files: { path: string; content: string }[];
  /** Each demo entry at its pod's service port (the sidecar's inbound listener when sidecars run). */
  direct: Link[];
  admin: Link[];
  mesh: { pilot: boolean; sidecars: boolean; gateway: boolean; mixer: boolean; citadel: boolean };
}

export const APP_PORT_OFFSET = 20000;
/**
 * The environment a sidecar is shipped to start with: `env` of the proxy's launch.json in `dir`
 * (apps/proxy/launch.json, copied beside dist/apps/proxy/main.js): process-level memory settings
 * (MALLOC_ARENA_MAX; NODE_OPTIONS would go there too) that only take effect at process start. {} when there is none.
 */
export function sidecarLaunchEnv(dir: string): Record<string, string> {
  return { ...readLaunch(dir).env };
}

/**
 * The node flags a component is shipped to start with: `nodeArgs` of the launch.json in `dir` (the
 * one beside its main.js; apps/mixer/launch.json has --no-memory-reducer). They go on the node
 * command line before main.js: V8 reads such flags when the process starts, and NODE_OPTIONS
 * refuses them. [] when there is none.
 */
export function launchNodeArgs(dir: string): string[] {
  return [...(readLaunch(dir).nodeArgs ?? [])];
}

/** The launch.json in `dir` (beside a component's main.js), `{}` when there is none. */
function readLaunch(dir: string): { env?: Record<string, string>; nodeArgs?: string[] } {
  const file = join(dir, 'launch.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

/** The sidecar's outbound capture listener (Istio's proxyListenPort), also the apps' HTTP proxy. */
export const PROXY_LISTEN_PORT = 15001;

/**
 * Envoy v3 bootstrap for a router node: ADS to Pilot, admin on the pod address, Istio node metadata.
 * Used by `tsmesh compose` (the gateway container's identity); the local launcher passes flags instead.
 */
export function routerBootstrap(pod: PodSpec, pilotGrpc: string): Record<string, unknown> {
  const i = pilotGrpc.lastIndexOf(':');
  const name = podName(pod.name);
  const pilotAddress = {
    socket_address: { address: pilotGrpc.slice(0, i), port_value: Number(pilotGrpc.slice(i + 1)) },
  };
  return {
    node: {
      id: `router~${pod.ip}~${name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`,
      cluster: pod.labels['app'] ?? pod.name,
      metadata: {
        ISTIO_VERSION: '1.0.0',
        ISTIO_PROXY_VERSION: '1.0.0',
        NAMESPACE: pod.namespace,
        POD_NAME: name,
        INSTANCE_IPS: pod.ip,
        ISTIO_METAJSON_LABELS: JSON.stringify(pod.labels),
        INTERCEPTION_MODE: 'REDIRECT',
        CLUSTER_ID: 'Kubernetes',
        SERVICE_ACCOUNT: pod.serviceAccount,
      },
      locality: {},
    },
    admin: { address: { socket_address: { address: pod.ip, port_value: 15000 } } },
    static_resources: {
      listeners: [],
      clusters: [
        {
          name: 'xds-grpc',
          type: 'STATIC',
          connect_timeout: '10s',
          lb_policy: 'ROUND_ROBIN',
          http2_protocol_options: {},
          load_assignment: {
            cluster_name: 'xds-grpc',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: pilotAddress } }] }],
          },
        },
      ],
    },
    dynamic_resources: {
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }],
      },
    },
  };
}

/** Kubernetes-looking pod name, stable for a deployment: `reviews-v2-5d4c8`. */
export function podName(deployment: string): string {
  return `${deployment}-${createHash('sha1').update(deployment).digest('hex').slice(0, 5)}`;
}

export function buildPlan(t: Topology, components: Map<string, Component>, o: PlanOptions): Plan {
  const has = (p: string) => !o.without.has(p) && (components.get(p)?.available ?? false);
  const why = (p: string) =>
    o.without.has(p) ? `${p}: left out (--without)` : `${p}: ${components.get(p)?.reason ?? 'not built'}`;
  const pilotOn = has('pilot');
  const mesh = {
    pilot: pilotOn,
    sidecars: pilotOn && has('proxy'),
    gateway: pilotOn && has('gateway'),
    mixer: has('mixer'),
    citadel: has('citadel'),
  };
  const plan: Plan = {
    processes: [],
    missing: [],
    notes: [],
    tokens: [],
    pods: [],
    links: [],
    files: [],
    direct: [],
    admin: [],
    mesh,
  };
  for (const p of ['pilot', 'proxy', 'gateway', 'mixer', 'citadel']) if (!has(p)) plan.missing.push(why(p));
  if (has('proxy') && !pilotOn)
    plan.missing.push('proxy: built, but sidecars need Pilot; apps call each other directly');
  if (has('gateway') && !pilotOn)
    plan.missing.push('gateway: built, but it needs Pilot; demos are served on their pod addresses');
  const cpPod = (app: string) => t.pods.find((p) => p.controlPlane && p.labels['app'] === app);
  const pilot = cpPod('pilot');
  const pilotGrpc = pilot ? `${pilot.ip}:15010` : '';
  const policy = cpPod('policy');
  const telemetry = cpPod('telemetry');
  const citadel = cpPod('citadel');
  const logEnv = { LOG_LEVEL: o.logLevel ?? 'info' };

  const addCp = (pod: PodSpec | undefined, project: string, wanted: [string, string][], extra: string[] = []) => {
    const c = components.get(project);
    if (!pod || !c) return;
    const { args, dropped } = supportedFlags(c, wanted);
    const passthrough: string[] = [];
    for (let i = 0; i < extra.length; i += 2) if (c.flags.has(extra[i])) passthrough.push(extra[i], extra[i + 1]);
    if (dropped.length)
      plan.notes.push(`${pod.name}: ${project} does not list ${dropped.join(', ')} in --help; not passed`);
    plan.processes.push({
      name: pod.name,
      role: 'control-plane',
      pod: pod.name,
      namespace: pod.namespace,
      ip: pod.ip,
      main: c.main,
      args: [...args, ...passthrough],
      env: { ...logEnv, ...(project === 'mixer' && o.redisUrl ? { REDIS_URL: o.redisUrl } : {}) },
      readyUrl: project === 'pilot' ? `http://${pod.ip}:15014/ready` : undefined,
      ...(project === 'mixer' ? { nodeArgs: launchNodeArgs(dirname(c.main)) } : {}),
    });
    plan.pods.push(pod);
  };
  // With Mixer, Pilot's mesh config names it (istio-policy / istio-telemetry Services) and every
  // proxy gets the `mixer` filter: policy checked (fail-closed) and telemetry reported.
  const mixerServers = mesh.mixer
    ? { check: serviceAddress(t, policy), report: serviceAddress(t, telemetry) }
    : { check: undefined, report: undefined };
  const meshConfig =
    pilotOn && o.meshConfigPath && (mixerServers.check || mixerServers.report) ? o.meshConfigPath : null;
  if (meshConfig) plan.files.push({ path: meshConfig, content: mixerMeshConfig(mixerServers) });
  if (pilotOn)
    addCp(pilot, 'pilot', [
      ['--config-dir', o.configDir],
      ['--grpc-addr', pilotGrpc],
      ['--http-addr', `${pilot?.ip}:15014`],
      ...(meshConfig ? ([['--mesh-config', meshConfig]] as [string, string][]) : []),
    ]);
  if (mesh.citadel)
    addCp(citadel, 'citadel', [
      ['--grpc-address', `${citadel?.ip}:8060`],
      ['--http-address', `${citadel?.ip}:15014`],
      ['--ca-dir', o.citadelDir],
      ['--bootstrap-tokens', o.tokensFile],
    ]);
  if (mesh.mixer)
    for (const m of [policy, telemetry])
      addCp(
        m,
        'mixer',
        [
          ['--grpc-address', `${m?.ip}:9091`],
          ['--monitoring-address', `${m?.ip}:15014`],
          ['--prometheus-address', `${m?.ip}:42422`],
          ['--config-dir', o.mixerConfigDir],
        ],
        m?.container.args ?? [],
      );

  // Identity and addresses every proxy (sidecar or gateway) is given, as the flags its --help lists and as env.
  const proxyWanted = (pod: PodSpec, token: string, extra: [string, string][]): [string, string][] => [
    ['--discovery-address', pilotGrpc],
    [
      '--service-node',
      `${pod.controlPlane ? 'router' : 'sidecar'}~${pod.ip}~${podName(pod.name)}.${pod.namespace}~${pod.namespace}.svc.cluster.local`,
    ],
    ['--service-cluster', pod.labels['app'] ?? pod.name],
    ['--ip', pod.ip],
    ['--pod-name', podName(pod.name)],
    ['--namespace', pod.namespace],
    [
      '--labels',
      Object.entries(pod.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    ],
    ['--service-account', pod.serviceAccount],
    ['--admin-address', `${pod.ip}:15000`],
    ['--prometheus-address', `${pod.ip}:15090`],
    ['--health-address', `${pod.ip}:15021`],
    // Identity: a CSR to Citadel authenticated by the pod's bootstrap token (Citadel's --bootstrap-tokens file).
    ...(citadel && mesh.citadel
      ? ([
          ['--citadel-address', `${citadel.ip}:8060`],
          ['--citadel-token', token],
        ] as [string, string][])
      : []),
    ...(o.zipkinAddress ? ([['--zipkin-address', o.zipkinAddress]] as [string, string][]) : []),
    ...extra,
  ];
  const proxyEnv = (pod: PodSpec, token: string): Record<string, string> => ({
    ...logEnv,
    POD_NAME: podName(pod.name),
    POD_NAMESPACE: pod.namespace,
    INSTANCE_IP: pod.ip,
    SERVICE_ACCOUNT: pod.serviceAccount,
    ISTIO_META_LABELS: JSON.stringify(pod.labels),
    TSMESH_DISCOVERY_ADDRESS: pilotGrpc,
    TSMESH_BOOTSTRAP_TOKEN: token,
  });
  const newToken = (pod: PodSpec) => {
    const token = randomBytes(16).toString('hex');
    plan.tokens.push(`${token} ${pod.namespace}/${pod.serviceAccount}`);
    return token;
  };

  const gw = t.pods.find((p) => p.controlPlane && p.labels['istio'] === 'ingressgateway');
  const gwComponent = components.get('gateway');
  if (mesh.gateway && gw && gwComponent) {
    const token = newToken(gw);
    const https = `${o.gatewayAddress.slice(0, o.gatewayAddress.lastIndexOf(':'))}:${o.gatewayAddress.endsWith(':0') ? 0 : 8443}`;
    const wanted = proxyWanted(gw, token, [['--port-map', `80=${o.gatewayAddress},443=${https}`]]);
    const { args, dropped } = supportedFlags(gwComponent, wanted);
    if (dropped.length)
      plan.notes.push(`istio-ingressgateway: gateway does not list ${dropped.join(', ')} in --help; not passed`);
    plan.processes.push({
      name: gw.name,
      role: 'gateway',
      pod: gw.name,
      namespace: gw.namespace,
      ip: gw.ip,
      main: gwComponent.main,
      args,
      env: proxyEnv(gw, token),
      readyUrl: `http://${gw.ip}:15021/healthz/ready`,
    });
    plan.pods.push(gw);
    plan.admin.push({ label: 'gateway admin', url: `http://${gw.ip}:15000/` });
  }

  // Workloads
  const directAddress = (svcName: string, ns: string, svcPort: number): string | null => {
    const svc = t.services.find((s) => s.name === svcName && s.namespace === ns);
    const target = svc?.ports.find((p) => p.port === svcPort) ?? svc?.ports[0];
    const pod = svc
      ? podsOf(t, svc).find(
          (p) => !p.controlPlane && p.container.project && components.get(p.container.project)?.available,
        )
      : undefined;
    return pod && target ? `${pod.ip}:${target.targetPort}` : null;
  };
  // The shop's DATABASE_URL: the user's real PostgreSQL, else the manifest's URL pointed at the local stand-in.
  const databaseUrl = (manifestUrl: string, ns: string): string | undefined => {
    if (o.databaseUrl) return o.databaseUrl;
    try {
      const u = new URL(manifestUrl);
      const addr = directAddress(u.hostname.split('.')[0], ns, Number(u.port || 5432));
      if (!addr) return undefined;
      u.host = addr;
      return u.toString();
    } catch {
      return undefined;
    }
  };
  let embeddedNoted = false;
  for (const pod of t.pods.filter((p) => !p.controlPlane)) {
    const project = pod.container.project;
    if (!project) {
      plan.missing.push(`${pod.name}: image ${pod.container.image} is not run locally`);
      continue;
    }
    if (pod.container.standIn && o.databaseUrl) {
      plan.notes.push(`${pod.name}: not run; the shop uses DATABASE_URL`);
      continue;
    }
    const c = components.get(project);
    if (!c?.available) {
      plan.missing.push(`${pod.name}: ${c?.reason ?? `${project} is not built`}`);
      continue;
    }
    const sidecar = mesh.sidecars && !pod.container.standIn;
    const containerPort = pod.container.ports[0]?.containerPort ?? 8080;
    const appPort = sidecar ? containerPort + APP_PORT_OFFSET : containerPort;
    const env: Record<string, string> = {
      ...pod.container.env,
      ...(o.workloadEnv?.get(`${pod.namespace}/${pod.name}`) ?? {}),
    };
    delete env['DATABASE_URL'];
    const manifestDb = pod.container.env['DATABASE_URL'];
    if (manifestDb !== undefined) {
      const url = databaseUrl(manifestDb, pod.namespace);
      if (url) env['DATABASE_URL'] = url;
      else if (!embeddedNoted) {
        embeddedNoted = true;
        plan.notes.push(
          'no shared database for the shop (postgres not running): each shop service embeds its own PGlite',
        );
      }
    }
    if (pod.container.standIn) {
      // A backing service, not a mesh workload: no sidecar (as if `sidecar.istio.io/inject: "false"`).
    } else if (sidecar) {
      env['HTTP_PROXY'] = `http://${pod.ip}:${PROXY_LISTEN_PORT}`;
      env['NO_PROXY'] = 'localhost';
    } else {
      // No sidecar: point every `<SERVICE>_URL` (and URLs in the manifest env) straight at a pod.
      for (const s of t.services.filter((x) => x.namespace === pod.namespace)) {
        const addr = directAddress(s.name, s.namespace, s.ports[0]?.port);
        if (addr) env[`${s.name.toUpperCase().replace(/-/g, '_')}_URL`] = `http://${addr}`;
      }
      for (const [k, v] of Object.entries(env)) {
        const m = /^http:\/\/([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:(\d+)(.*)$/.exec(v);
        const addr = m ? directAddress(m[1], pod.namespace, Number(m[2])) : null;
        if (m && addr && k !== 'HTTP_PROXY') env[k] = `http://${addr}${m[3]}`;
      }
    }
    const name = podName(pod.name);
    const baseEnv = { ...env, ...logEnv, HOSTNAME: name, POD_NAME: name, POD_NAMESPACE: pod.namespace };
    const dataArgs =
      pod.container.standIn && o.dataDir && c.flags.has('--data-dir') ? ['--data-dir', `${o.dataDir}/${pod.name}`] : [];
    plan.processes.push({
      name: pod.name,
      role: 'app',
      pod: pod.name,
      namespace: pod.namespace,
      ip: pod.ip,
      main: c.main,
      args: ['--host', pod.ip, '--port', String(appPort), ...dataArgs],
      env: withOverride(baseEnv, o.workloadEnv?.get(`${pod.namespace}/${pod.name}`)),
      baseEnv,
      // Stand-ins speak no HTTP: ready once they log `listening`.
      ...(pod.container.standIn ? { startFirst: true } : { readyUrl: `http://${pod.ip}:${appPort}/ready` }),
    });
    plan.pods.push(pod);
    const proxy = components.get('proxy');
    if (sidecar && proxy) {
      const token = newToken(pod);
      const svcPorts = [...new Set(servicesOf(t, pod).flatMap((s) => s.ports.map((p) => p.targetPort)))];
      const { args, dropped } = supportedFlags(
        proxy,
        proxyWanted(pod, token, [
          ['--outbound-address', `${pod.ip}:${PROXY_LISTEN_PORT}`],
          // Inbound `<podIP>_<port>` listeners bind at the pod address (proxy's local mode), or the single one is rebound.
          // (an empty --inbound-address keeps the proxy from moving the single inbound listener to 127.0.0.1:15006)
          ...((proxy.flags.has('--bind-inbound-listeners')
            ? [
                ['--bind-inbound-listeners', 'true'],
                ['--inbound-address', ''],
              ]
            : svcPorts.length === 1
              ? [['--inbound-address', `${pod.ip}:${svcPorts[0]}`]]
              : []) as [string, string][]),
          ['--app-address', `${pod.ip}:${appPort}`],
          // The app's HTTP_PROXY is the capture listener itself (Pilot adds the http_proxy chain to `virtual`).
          ['--http-proxy-port', String(PROXY_LISTEN_PORT)],
        ]),
      );
      if (dropped.length)
        plan.notes.push(`${pod.name}.sidecar: proxy does not list ${dropped.join(', ')} in --help; not passed`);
      plan.processes.push({
        name: `${pod.name}.sidecar`,
        role: 'sidecar',
        pod: pod.name,
        namespace: pod.namespace,
        ip: pod.ip,
        main: proxy.main,
        args,
        env: {
          ...sidecarLaunchEnv(dirname(proxy.main)),
          ...proxyEnv(pod, token),
          TSMESH_APP_ADDRESS: `${pod.ip}:${appPort}`,
          TSMESH_INBOUND_PORTS: svcPorts.join(','),
        },
        readyUrl: `http://${pod.ip}:15021/healthz/ready`,
      });
      plan.admin.push({ label: `${pod.name} sidecar admin`, url: `http://${pod.ip}:15000/` });
    }
  }
  // Mixer's Prometheus endpoint (the istio_* series) goes first, so the summary always shows it.
  if (mesh.mixer && telemetry)
    plan.admin.unshift({ label: 'mixer metrics (istio_*)', url: `http://${telemetry.ip}:42422/metrics` });
  if (pilotOn && pilot) plan.admin.unshift({ label: 'pilot debug', url: `http://${pilot.ip}:15014/debug/syncz` });

  // Where to point a browser
  const entry = (svc: string, ns: string, path: string, label: string) => {
    const running = plan.processes.some(
      (p) =>
        p.role === 'app' &&
        t.services.some((s) => s.name === svc && s.namespace === ns && podsOf(t, s).some((x) => x.name === p.pod)),
    );
    if (!running) return;
    const addr = directAddress(
      svc,
      ns,
      t.services.find((s) => s.name === svc && s.namespace === ns)?.ports[0]?.port ?? 0,
    );
    if (addr) plan.direct.push({ label: `${label} (pod)`, url: `http://${addr}${path}` });
    if (mesh.gateway) plan.links.push({ label, url: `http://${o.gatewayAddress}${path}` });
    else {
      if (addr) plan.links.push({ label: `${label} (direct, no gateway)`, url: `http://${addr}${path}` });
    }
  };
  entry('productpage', 'default', '/productpage', 'bookinfo');
  entry('home', 'default', '/', 'shop home');
  entry('order', 'default', '/order/', 'shop order');
  entry('shipping', 'default', '/shipping/', 'shop shipping');
  entry('invoicing', 'default', '/invoicing/', 'shop invoicing');
  entry('bonus', 'default', '/bonus/', 'shop bonus');
  entry('book-service', 'default', '/book/1', 'book/rating');
  if (!mesh.sidecars)
    plan.notes.push(
      'without sidecars each service call goes straight to the first pod of the service (no load balancing, no routing rules)',
    );
  return plan;
}
