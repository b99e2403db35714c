import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@tsmesh/testing';
import { loadMeshSettings, meshSettingsFrom } from './mesh';

describe('mesh settings', () => {
  it('reads the MeshConfig fields Pilot uses, with defaults for the rest', () => {
    const m = meshSettingsFrom({
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      trustDomain: 'example.org',
      mixerCheckServer: 'istio-policy.istio-system:9091',
      disablePolicyChecks: false,
      policyCheckFailOpen: true,
      enableTracing: false,
    });
    expect(m).toMatchObject({
      outboundTrafficPolicy: 'REGISTRY_ONLY',
      trustDomain: 'example.org',
      mixerCheckServer: 'istio-policy.istio-system:9091',
      disablePolicyChecks: false,
      policyCheckFailOpen: true,
      enableTracing: false,
      proxyListenPort: 15001,
    });
    expect(meshSettingsFrom(undefined).outboundTrafficPolicy).toBe('ALLOW_ANY');
  });

  it('loads a bare MeshConfig file or the istio ConfigMap, and fails with a coded error', () => {
    const dir = tempDir('pilot-mesh-');
    try {
      writeFileSync(join(dir.path, 'mesh.yaml'), 'outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n');
      expect(loadMeshSettings(join(dir.path, 'mesh.yaml')).outboundTrafficPolicy).toBe('REGISTRY_ONLY');
      writeFileSync(
        join(dir.path, 'cm.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata:\n  mesh: |\n    trustDomain: corp.local\n',
      );
      expect(loadMeshSettings(join(dir.path, 'cm.yaml')).trustDomain).toBe('corp.local');
      expect(() => loadMeshSettings(join(dir.path, 'missing.yaml'))).toThrow(
        /PILOT_ERR_MESH_CONFIG|cannot load mesh config/,
      );
    } finally {
      dir.cleanup();
    }
  });
});
