/**
 * The filter against the real Mixer process (dist/apps/mixer/main.js) over
 * real gRPC: denial, quota, then Mixer stopped → fail closed / fail open.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FieldError } from '@tsmesh/core';
import { startApp, tempDir, type AppProcess } from '@tsmesh/testing';
import type { LocalReply } from '../../types';
import { factoryContext, fakeStream } from '../jwt_authn/testing';
import { mixerFilterWith } from './index';
import { encodeForwarded, FORWARD_HEADER } from './request-attributes';

const CONFIG = `
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: { name: denyreviewsv3handler, namespace: istio-system }
spec:
  status: { code: 7, message: Not allowed }
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: { name: denyreviewsv3request, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: denyreviewsv3, namespace: istio-system }
spec:
  match: destination.labels["app"] == "ratings" && source.labels["version"] == "v3"
  actions:
  - handler: denyreviewsv3handler.denier
    instances: [ denyreviewsv3request.checknothing ]
---
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: { name: handler, namespace: istio-system }
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 2
    validDuration: 30s
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: { name: requestcount, namespace: istio-system }
spec:
  dimensions:
    destination: destination.service.host | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: quota, namespace: istio-system }
spec:
  actions:
  - handler: handler.memquota
    instances: [ requestcount.quota ]
`;

describe('mixer filter against a real Mixer process', () => {
  let mixer: AppProcess;
  let dir: { path: string; cleanup(): Promise<void> | void };

  beforeAll(async () => {
    dir = await tempDir('mixer-filter-');
    writeFileSync(join(dir.path, 'policy.yaml'), CONFIG);
    mixer = await startApp('mixer', {
      args: [
        '--grpc-address=127.0.0.1:0',
        '--prometheus-address=',
        '--monitoring-address=',
        `--config-dir=${dir.path}`,
      ],
      ready: { listeners: ['grpc'] },
    });
  });
  afterAll(async () => {
    await mixer?.stop();
    await dir?.cleanup();
  });

  function filterFor(policy: 'FAIL_OPEN' | 'FAIL_CLOSE', perRouteQuota = false) {
    const filter = mixerFilterWith({ transport: { checkTimeoutMs: 1000 } });
    const errors: FieldError[] = [];
    const cfg = filter.parseConfig(
      {
        transport: {
          check_cluster: mixer.addresses['grpc'],
          network_fail_policy: { policy },
          disable_check_cache: true,
        },
        mixer_attributes: {
          attributes: {
            'destination.labels': { string_map_value: { entries: { app: 'ratings' } } },
            'destination.service.host': { string_value: 'ratings.default.svc.cluster.local' },
          },
        },
        service_configs: {
          'ratings.default.svc.cluster.local': {
            quota_spec: perRouteQuota ? [{ rules: [{ quotas: [{ quota: 'requestcount', charge: 1 }] }] }] : [],
          },
        },
        default_destination_service: 'ratings.default.svc.cluster.local',
      },
      'typed_config',
      errors,
    );
    expect(errors).toEqual([]);
    const fctx = factoryContext('mixer');
    const make = filter.create(cfg, fctx);
    const run = async (version: string) => {
      const stream = fakeStream({ path: '/ratings/0' });
      // the calling sidecar's labels arrive as forwarded attributes
      stream.headers[FORWARD_HEADER] = encodeForwarded({ 'source.labels': { app: 'reviews', version } });
      return (await make().onRequest?.(stream)) as LocalReply | undefined;
    };
    return { run, stats: fctx.stats, close: () => filter.handle.close() };
  }

  it('denies reviews-v3 → ratings with 403 PERMISSION_DENIED and lets v2 through', async () => {
    const f = filterFor('FAIL_CLOSE');
    expect(await f.run('v3')).toMatchObject({
      status: 403,
      body: 'PERMISSION_DENIED:denyreviewsv3handler.denier.istio-system:Not allowed',
      flag: 'UAEX',
    });
    expect(await f.run('v2')).toBeUndefined();
    await f.close();
  });

  it('answers 429 once the memquota is spent', async () => {
    const f = filterFor('FAIL_CLOSE', true);
    const results: number[] = [];
    for (let i = 0; i < 3; i++) results.push((await f.run('v1'))?.status ?? 200);
    expect(results).toEqual([200, 200, 429]);
    await f.close();
  });

  it('with Mixer stopped: FAIL_CLOSE → 503, FAIL_OPEN → allowed, both counted', async () => {
    await mixer.stop();
    const closed = filterFor('FAIL_CLOSE');
    const r = await closed.run('v1');
    expect(r).toMatchObject({ status: 503, flag: 'UAEX' });
    expect(closed.stats.value('http_mixer_filter.total_check_fail_close')).toBe(1);
    await closed.close();
    const open = filterFor('FAIL_OPEN');
    expect(await open.run('v1')).toBeUndefined();
    expect(open.stats.value('http_mixer_filter.total_check_fail_open')).toBe(1);
    await open.close();
  });
});
