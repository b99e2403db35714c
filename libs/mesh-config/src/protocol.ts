/**
 * Service port protocol, as Istio 1.0 decides it from the Kubernetes port
 * name: the prefix before the first `-` ([I10] `pilot/pkg/serviceregistry/kube/conversion.go`
 * `ConvertProtocol`), with `appProtocol` (Kubernetes 1.18+, honoured by later
 * Istio) taking precedence. Anything unrecognised is TCP (UDP ports stay UDP).
 */
export type Protocol =
  'HTTP' | 'HTTPS' | 'HTTP2' | 'GRPC' | 'GRPC-WEB' | 'TCP' | 'TLS' | 'UDP' | 'MONGO' | 'REDIS' | 'MYSQL';

const BY_NAME: Record<string, Protocol> = {
  http: 'HTTP',
  https: 'HTTPS',
  http2: 'HTTP2',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-WEB',
  tcp: 'TCP',
  tls: 'TLS',
  udp: 'UDP',
  mongo: 'MONGO',
  redis: 'REDIS',
  mysql: 'MYSQL',
};

/** `http-api` → HTTP, `grpc` → GRPC, `metrics` → TCP; `appProtocol: grpc` wins; a UDP port is UDP. */
export function protocolOfPort(port: { name?: string; protocol?: string; appProtocol?: string }): Protocol {
  if (port.protocol?.toUpperCase() === 'UDP') return 'UDP';
  const app = port.appProtocol?.toLowerCase();
  if (app && BY_NAME[app]) return BY_NAME[app];
  const name = (port.name ?? '').toLowerCase();
  if (name.startsWith('grpc-web')) return 'GRPC-WEB';
  const prefix = name.split('-')[0];
  return BY_NAME[prefix] ?? 'TCP';
}

/** Protocols whose traffic is HTTP (routed by VirtualService `http` routes). */
export function isHttpProtocol(p: string): boolean {
  return ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB'].includes(p.toUpperCase());
}
