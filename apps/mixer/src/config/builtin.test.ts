import { parseAllDocuments } from 'yaml';
import { ISTIO_METRICS } from '@tsmesh/telemetry';
import { testRuntime, yamlObjects } from '../runtime/test-support';
import { BUILTIN_CONFIG_YAML } from './builtin';

interface Doc {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}
const docs = () => parseAllDocuments(BUILTIN_CONFIG_YAML).map((d) => d.toJS() as Doc);

describe('built-in telemetry config', () => {
  it('has one metric instance per ISTIO_METRICS entry with its value and labels as dimensions', () => {
    const instances = docs().filter((d) => d.kind === 'metric');
    expect(instances.map((d) => d.metadata.name)).toEqual(ISTIO_METRICS.map((m) => m.instance));
    for (const def of ISTIO_METRICS) {
      const spec = instances.find((d) => d.metadata.name === def.instance)?.spec as Record<string, unknown>;
      expect(spec['value']).toBe(def.value);
      expect(Object.keys(spec['dimensions'] as object)).toEqual([...def.labels]);
    }
  });

  it('registers, through the prometheus adapter, exactly the names, labels and buckets of ISTIO_METRICS', async () => {
    const { runtime, promRegistry } = testRuntime();
    expect(await runtime.apply(yamlObjects(BUILTIN_CONFIG_YAML))).toEqual([]);
    const registered = promRegistry.getMetricsAsArray().map((m) => m.name);
    expect(registered.sort()).toEqual(ISTIO_METRICS.map((m) => m.name).sort());
    for (const def of ISTIO_METRICS) {
      const metric = promRegistry.getSingleMetric(def.name) as unknown as {
        labelNames: string[];
        upperBounds?: number[];
        type: string;
      };
      expect([def.name, metric.labelNames]).toEqual([def.name, [...def.labels]]);
      expect([def.name, metric.type]).toEqual([def.name, def.kind]);
      if (def.kind === 'histogram') expect([def.name, metric.upperBounds]).toEqual([def.name, def.buckets]);
    }
  });

  it('routes the HTTP metrics from promhttp and the TCP metrics from promtcp', () => {
    const rules = docs().filter((d) => d.kind === 'rule');
    const instancesOf = (name: string) =>
      (rules.find((r) => r.metadata.name === name)?.spec['actions'] as Array<{ instances: string[] }>)[0].instances;
    for (const [rule, protocol] of [
      ['promhttp', 'http'],
      ['promtcp', 'tcp'],
    ] as const)
      expect(instancesOf(rule)).toEqual(
        ISTIO_METRICS.filter((m) => m.protocol === protocol).map((m) => `${m.instance}.metric`),
      );
  });
});
