/**
 * Pilot's service model (Istio 1.0 `pilot/pkg/model`): services and their
 * instances, whatever registry they came from (Kubernetes objects, the folder
 * registry, ServiceEntries).
 */

/** Port protocol, decided by the Kubernetes port name prefix (`http-web` → HTTP) or the ServiceEntry port. */
export type Protocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'HTTPS' | 'TCP' | 'TLS' | 'UDP' | 'MONGO' | 'REDIS';

export interface ServicePort {
  name: string;
  port: number;
  protocol: Protocol;
}

/** How a cluster finds its hosts: EDS from the registry, a static list, or DNS. */
export type Resolution = 'EDS' | 'STATIC' | 'DNS' | 'NONE';

export interface Service {
  /** FQDN, e.g. `reviews.default.svc.cluster.local` or `api.example.com`. */
  hostname: string;
  name: string;
  namespace: string;
  /** Cluster IP / VIP; `0.0.0.0` when the service has none. */
  address: string;
  /**
   * ServiceEntry `addresses` as listeners use them (Istio `convertServices`): plain IPs, or CIDRs
   * (`10.0.0.0/16`; a /32 or /128 becomes the plain IP). Unset for Kubernetes services.
   */
  addresses?: string[];
  ports: ServicePort[];
  resolution: Resolution;
  meshExternal: boolean;
  /** Which object defined it: `Service/default/reviews` or `ServiceEntry/default/ext`. */
  source: string;
  /** Pod selector (Kubernetes services); instances are the ready endpoints. */
  selector?: Record<string, string>;
}

/** One reachable instance of a service port (Istio's ServiceInstance). */
export interface Endpoint {
  hostname: string;
  /** The service port this endpoint serves (by number). */
  servicePort: number;
  address: string;
  port: number;
  labels: Record<string, string>;
  serviceAccount?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  weight?: number;
  podName?: string;
  namespace?: string;
}

export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC';
}

export function isHttp2Protocol(p: Protocol): boolean {
  return p === 'HTTP2' || p === 'GRPC';
}

/** Istio 1.0 `ConvertProtocol`: the prefix of the port name before the first `-`. */
export function protocolFromPortName(name: string | undefined, fallback: Protocol = 'TCP'): Protocol {
  if (!name) return fallback;
  const prefix = name.split('-')[0].toLowerCase();
  switch (prefix) {
    case 'http':
      return 'HTTP';
    case 'http2':
      return 'HTTP2';
    case 'grpc':
      return 'GRPC';
    case 'https':
      return 'HTTPS';
    case 'tls':
      return 'TLS';
    case 'udp':
      return 'UDP';
    case 'mongo':
      return 'MONGO';
    case 'redis':
      return 'REDIS';
    case 'tcp':
      return 'TCP';
    default:
      return fallback;
  }
}

/** Parses an Istio protocol name (`HTTP`, `grpc`, ...), defaulting to TCP. */
export function parseProtocol(p: string | undefined): Protocol {
  const up = (p ?? '').toUpperCase();
  const all: Protocol[] = ['HTTP', 'HTTP2', 'GRPC', 'HTTPS', 'TCP', 'TLS', 'UDP', 'MONGO', 'REDIS'];
  return (all as string[]).includes(up) ? (up as Protocol) : 'TCP';
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}
