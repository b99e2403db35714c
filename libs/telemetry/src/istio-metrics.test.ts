import { createRegistry, metricValue, renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import path from 'node:path';
import { ISTIO_SIZE_BUCKETS, ISTIO_TCP_LABELS, istioLabels, istioMetric, registerIstioMetrics } from './istio-metrics';
import { telemetryErrors } from './telemetry-errors';

describe('Istio 1.0 standard metrics', () => {
  it('declares the six metrics with their 1.0 names, labels and buckets', () => {
    expect(istioMetric('istio_request_duration_seconds').buckets).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]);
    expect(ISTIO_SIZE_BUCKETS).toEqual([1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8]);
    expect(istioMetric('istio_requests_total').labels).toContain('response_code');
    expect(ISTIO_TCP_LABELS).not.toContain('response_code');
    expect(ISTIO_TCP_LABELS).toContain('connection_security_policy');
  });

  it('registers them on a registry and fills unknown labels', async () => {
    const registry = createRegistry(false);
    const m = registerIstioMetrics(registry);
    const labels = istioLabels(istioMetric('istio_requests_total').labels, {
      reporter: 'destination',
      destination_service: 'reviews.default.svc.cluster.local',
      response_code: 200,
    });
    expect(labels['source_app']).toBe('unknown');
    m.istio_requests_total.inc(labels);
    m.istio_request_duration_seconds.observe(labels, 0.02);
    expect(await metricValue(registry, 'istio_requests_total', { response_code: '200' })).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('istio_request_duration_seconds_bucket{le="0.025"');
  });
});

describe('docs', () => {
  it('docs/errors.md has the telemetry section', () => {
    const file = path.join(__dirname, '../../../docs/errors.md');
    expect(syncDocSection(file, renderErrorsDoc(telemetryErrors))).toBeNull();
  });
});
