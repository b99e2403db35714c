import { isMeshError } from '@tsmesh/core';
import { defaultMeshConfig, loadMeshConfig } from './mesh';

describe('MeshConfig', () => {
  it('has the Istio defaults', () => {
    const m = defaultMeshConfig();
    expect(m.trustDomain).toBe('cluster.local');
    expect(m.outboundTrafficPolicy.mode).toBe('ALLOW_ANY');
    expect(m.defaultConfig.proxyAdminPort).toBe(15000);
    expect(m.defaultConfig.drainDuration).toBe('45s');
  });

  it('merges YAML over the defaults', () => {
    const m = loadMeshConfig(`trustDomain: example.org
outboundTrafficPolicy: {mode: REGISTRY_ONLY}
defaultConfig:
  discoveryAddress: 127.0.0.1:15010
`);
    expect(m.trustDomain).toBe('example.org');
    expect(m.outboundTrafficPolicy.mode).toBe('REGISTRY_ONLY');
    expect(m.defaultConfig.discoveryAddress).toBe('127.0.0.1:15010');
    expect(m.defaultConfig.proxyAdminPort).toBe(15000);
    expect(loadMeshConfig('')).toEqual(defaultMeshConfig());
  });

  it('rejects bad fields with every path', () => {
    let err: unknown;
    try {
      loadMeshConfig('trustDomian: x\nconnectTimeout: soon\n');
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err)).toBe(true);
    if (!isMeshError(err)) return;
    expect(err.code).toBe('MESH_CONFIG_ERR_INVALID_CONFIG');
    expect(err.fieldErrors.map((f) => f.path)).toEqual(['trustDomian', 'connectTimeout']);
  });
});

describe('MeshConfig from the istio ConfigMap', () => {
  it('reads data.mesh', () => {
    const m = loadMeshConfig(`apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    disablePolicyChecks: true
    trustDomain: corp.example
`);
    expect(m.disablePolicyChecks).toBe(true);
    expect(m.trustDomain).toBe('corp.example');
  });
});
