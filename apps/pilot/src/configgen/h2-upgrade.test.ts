/**
 * DestinationRule `connectionPool.http.h2UpgradePolicy` and MeshConfig `h2UpgradePolicy` on the
 * generated outbound clusters (Istio 1.6+ rules): only HTTP ports are upgraded, the DR's UPGRADE or
 * DO_NOT_UPGRADE wins over the mesh setting, DEFAULT follows it, and subsets / port-level settings
 * pick the connection pool the same way as the rest of the policy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMeshError } from '@tsmesh/core';
import { loadMeshConfig } from '@tsmesh/mesh-config';
import { loadMeshSettings, meshSettingsFrom } from '../model/mesh';
import { contextFrom, productpage, sidecar } from '../testing/bookinfo';
import { generateClusters } from './generator';
import type { Msg } from './names';

const SVC = `apiVersion: v1
kind: Service
metadata: {name: shop, namespace: default, labels: {app: shop}}
spec:
  clusterIP: 10.96.0.50
  selector: {app: shop}
  ports:
  - {name: http-web, port: 8080, targetPort: 8080}
  - {name: grpc-api, port: 9090, targetPort: 9090}
  - {name: http2-feed, port: 9091, targetPort: 9091}
  - {name: tcp-db, port: 5432, targetPort: 5432}
  - {name: https-admin, port: 8443, targetPort: 8443}
---
apiVersion: v1
kind: Pod
metadata: {name: shop-v1-abc, namespace: default, labels: {app: shop, version: v1}}
spec:
  serviceAccountName: shop
  containers: [{name: shop, ports: [{containerPort: 8080}]}]
status: {phase: Running, podIP: 10.1.0.50}
`;

function dr(trafficPolicy: string, subsets = ''): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: shop}
spec:
  host: shop
  trafficPolicy: ${trafficPolicy}
${subsets}`;
}

const name = (port: number, subset = '') => `outbound|${port}|${subset}|shop.default.svc.cluster.local`;

function clusters(docs: string[], mesh: 'UPGRADE' | 'DO_NOT_UPGRADE' = 'DO_NOT_UPGRADE'): Map<string, Msg> {
  const ctx = contextFrom(docs, { h2UpgradePolicy: mesh });
  return new Map(generateClusters(productpage(), ctx, []).map((c) => [String(c['name']), c]));
}

const h2 = (c: Msg | undefined) => c?.['http2_protocol_options'];
const H2 = { max_concurrent_streams: { value: 1073741824 } };

describe('h2UpgradePolicy', () => {
  it('is off by default (MeshConfig default DO_NOT_UPGRADE, no DestinationRule)', () => {
    const cs = clusters([SVC]);
    expect(h2(cs.get(name(8080)))).toBeUndefined();
    // HTTP2 and gRPC ports are HTTP/2 whatever the policy
    expect(h2(cs.get(name(9090)))).toEqual(H2);
    expect(h2(cs.get(name(9091)))).toEqual(H2);
    expect(meshSettingsFrom({}).h2UpgradePolicy).toBe('DO_NOT_UPGRADE');
    expect(meshSettingsFrom({ h2UpgradePolicy: 'UPGRADE' }).h2UpgradePolicy).toBe('UPGRADE');
  });

  it('MeshConfig h2UpgradePolicy: read by Pilot from --mesh-config, a bad value refused with its field path', () => {
    expect(loadMeshConfig('').h2UpgradePolicy).toBe('DO_NOT_UPGRADE');
    expect(loadMeshConfig('h2UpgradePolicy: UPGRADE').h2UpgradePolicy).toBe('UPGRADE');
    let err: unknown;
    try {
      loadMeshConfig('h2UpgradePolicy: SOMETIMES\n');
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err) && err.fieldErrors.map((f) => f.path)).toEqual(['h2UpgradePolicy']);
    const dir = mkdtempSync(join(tmpdir(), 'pilot-h2-'));
    try {
      writeFileSync(join(dir, 'mesh.yaml'), 'h2UpgradePolicy: UPGRADE\n');
      expect(loadMeshSettings(join(dir, 'mesh.yaml')).h2UpgradePolicy).toBe('UPGRADE');
      writeFileSync(join(dir, 'bad.yaml'), 'h2UpgradePolicy: upgrade\n');
      expect(() => loadMeshSettings(join(dir, 'bad.yaml'))).toThrow(/h2UpgradePolicy/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('DR UPGRADE makes the HTTP port HTTP/2; gRPC/HTTP2 unchanged, TCP and HTTPS untouched', () => {
    const cs = clusters([SVC, dr('{connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}')]);
    expect(h2(cs.get(name(8080)))).toEqual(H2);
    expect(h2(cs.get(name(9090)))).toEqual(H2);
    expect(h2(cs.get(name(9091)))).toEqual(H2);
    expect(h2(cs.get(name(5432)))).toBeUndefined();
    expect(h2(cs.get(name(8443)))).toBeUndefined();
    // the server sidecar's inbound cluster to the app is not upgraded: the app gets HTTP/1.1
    const server = generateClusters(
      sidecar('10.1.0.50', 'shop-v1-abc', { app: 'shop', version: 'v1' }),
      contextFrom([SVC, dr('{connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}')]),
      [],
    );
    const inbound = server.filter((c) => String(c['name']).startsWith('inbound|8080|'));
    expect(inbound).toHaveLength(1);
    expect(h2(inbound[0])).toBeUndefined();
  });

  it('DR DO_NOT_UPGRADE overrides a mesh-wide UPGRADE', () => {
    const cs = clusters([SVC, dr('{connectionPool: {http: {h2UpgradePolicy: DO_NOT_UPGRADE}}}')], 'UPGRADE');
    expect(h2(cs.get(name(8080)))).toBeUndefined();
    expect(h2(cs.get(name(9090)))).toEqual(H2);
    // useClientProtocol: the client's protocol is kept, no upgrade whatever the policy
    const ucp = clusters([SVC, dr('{connectionPool: {http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}}}')]);
    expect(h2(ucp.get(name(8080)))).toBeUndefined();
  });

  it('DEFAULT (or no h2UpgradePolicy, or no DR) follows the mesh setting', () => {
    for (const docs of [
      [SVC, dr('{connectionPool: {http: {h2UpgradePolicy: DEFAULT}}}')],
      [SVC, dr('{connectionPool: {http: {http1MaxPendingRequests: 5}}}')],
      [SVC],
    ]) {
      expect(h2(clusters(docs, 'UPGRADE').get(name(8080)))).toEqual(H2);
      expect(h2(clusters(docs, 'DO_NOT_UPGRADE').get(name(8080)))).toBeUndefined();
      // mesh UPGRADE never touches non-HTTP ports
      expect(h2(clusters(docs, 'UPGRADE').get(name(5432)))).toBeUndefined();
      expect(h2(clusters(docs, 'UPGRADE').get(name(8443)))).toBeUndefined();
    }
  });

  it("subsets: a subset's connectionPool replaces the rule's, one without inherits it", () => {
    const subsets = `  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: DO_NOT_UPGRADE}}}
  - name: v3
    labels: {version: v3}
    trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
`;
    const cs = clusters([SVC, dr('{connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}', subsets)]);
    expect(h2(cs.get(name(8080)))).toEqual(H2);
    expect(h2(cs.get(name(8080, 'v1')))).toEqual(H2);
    expect(h2(cs.get(name(8080, 'v2')))).toBeUndefined();
    // v3's pool has no http block: DEFAULT, the mesh's DO_NOT_UPGRADE
    expect(h2(cs.get(name(8080, 'v3')))).toBeUndefined();
    expect(h2(cs.get(name(5432, 'v1')))).toBeUndefined();
    // a subset may upgrade where the rule does not
    const up = `  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}
`;
    const cs2 = clusters([SVC, dr('{loadBalancer: {simple: RANDOM}}', up)]);
    expect(h2(cs2.get(name(8080)))).toBeUndefined();
    expect(h2(cs2.get(name(8080, 'v1')))).toEqual(H2);
  });

  it('port-level settings choose per port', () => {
    const cs = clusters(
      [
        SVC,
        dr(`
    portLevelSettings:
    - port: {number: 8080}
      connectionPool: {http: {h2UpgradePolicy: UPGRADE}}
    - port: {number: 5432}
      connectionPool: {http: {h2UpgradePolicy: UPGRADE}}`),
      ],
      'DO_NOT_UPGRADE',
    );
    expect(h2(cs.get(name(8080)))).toEqual(H2);
    // the upgrade of a TCP port is refused (Istio 1.6: non-HTTP ports are never upgraded)
    expect(h2(cs.get(name(5432)))).toBeUndefined();
  });

  it('ISTIO_MUTUAL on an upgraded cluster offers ALPN istio + h2; not upgraded, istio only', () => {
    const tls = (c: Msg | undefined) =>
      ((c?.['transport_socket'] as Msg)['typed_config'] as { common_tls_context: Msg }).common_tls_context[
        'alpn_protocols'
      ];
    const up = clusters([SVC, dr('{tls: {mode: ISTIO_MUTUAL}, connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}')]);
    expect(tls(up.get(name(8080)))).toEqual(['istio', 'h2']);
    expect(tls(up.get(name(5432)))).toEqual(['istio']);
    const off = clusters([SVC, dr('{tls: {mode: ISTIO_MUTUAL}}')]);
    expect(tls(off.get(name(8080)))).toEqual(['istio']);
    expect(tls(off.get(name(9090)))).toEqual(['istio', 'h2']);
    // not tied to mTLS: upgraded in plaintext too
    expect(h2(clusters([SVC, dr('{connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}')]).get(name(8080)))).toEqual(H2);
  });
});
