import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@tsmesh/testing';
import { adminUrl, pilotUrl, table } from './debug-sources';

const dir = tempDir('cli-debug-sources-');
afterAll(() => dir.cleanup());
const file = join(dir.path, 'state.json');
const proc = (name: string, pod: string, listeners: Record<string, string>) => ({ name, pod, role: 'x', listeners });
writeFileSync(
  file,
  JSON.stringify({
    processes: [
      proc('istio-policy-1', 'istio-policy-1', { http: '10.0.0.3:15014' }),
      proc('istio-pilot-1', 'istio-pilot-1', { grpc: '10.0.0.2:15010', http: '10.0.0.2:15014' }),
      proc('reviews-v2-1', 'reviews-v2-1', { http: '10.0.1.5:29080' }),
      proc('reviews-v2-1.sidecar', 'reviews-v2-1', { admin: '10.0.1.5:15000' }),
    ],
  }),
);

describe('where proxy-status / proxy-config read from', () => {
  it("Pilot's debug URL from the state file, or the flag (with or without a scheme)", () => {
    expect(pilotUrl(file, undefined)).toBe('http://10.0.0.2:15014');
    expect(pilotUrl(file, '127.0.0.1:1/')).toBe('http://127.0.0.1:1');
  });

  it("a proxy's admin URL by pod, pod.namespace or node id; an unknown one is a usage error", () => {
    for (const name of [
      'reviews-v2-1',
      'reviews-v2-1.default',
      'sidecar~10.0.1.5~reviews-v2-1.default~default.svc.cluster.local',
    ])
      expect(adminUrl(file, name, undefined)).toBe('http://10.0.1.5:15000');
    expect(() => adminUrl(file, 'ratings-v1-1', undefined)).toThrow(/no proxy ratings-v1-1/);
    expect(() => pilotUrl(join(dir.path, 'none.json'), undefined)).toThrow(/no mesh is running/);
  });

  it('pads every column but the last', () => {
    expect(table(['A', 'BB'], [['xyz', '1']])).toEqual(['A    BB', 'xyz  1']);
  });
});
