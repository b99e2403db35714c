/**
 * `prometheus` adapter (Istio 1.0 `mixer/adapter/prometheus`): metric
 * instances → series on the adapter's listener (42422). Names get the
 * `namespace` prefix (default `istio`); DURATION values are recorded in seconds.
 */
import { valueText, type AttributeValue } from '@tsmesh/attributes';
import { ParamReader } from '../params';
import type { AdapterInfo, Instance } from '../../runtime/types';
import { AdapterSeries } from './series';

interface MetricDef {
  name: string;
  fullName: string;
  instanceName: string;
  kind: 'GAUGE' | 'COUNTER' | 'DISTRIBUTION';
  labelNames: string[];
  description: string;
  buckets: number[];
}

function readBuckets(r: ParamReader, raw: unknown, path: string): number[] {
  if (raw === undefined || raw === null) return [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const b = r.child(raw, path);
  const explicit = b.raw('explicitBuckets');
  const exp = b.raw('exponentialBuckets');
  const lin = b.raw('linearBuckets');
  let out: number[] = [];
  if (explicit) {
    const e = b.child(explicit, 'explicitBuckets');
    out = e.list('bounds').map(Number);
    b.adopt(e);
  } else if (exp) {
    const e = b.child(exp, 'exponentialBuckets');
    const n = e.int('numFiniteBuckets', 0, 1);
    const scale = Number(e.raw('scale') ?? 1);
    const growth = Number(e.raw('growthFactor') ?? 10);
    for (let i = 0; i <= n; i++) out.push(scale * growth ** i);
    b.adopt(e);
  } else if (lin) {
    const e = b.child(lin, 'linearBuckets');
    const n = e.int('numFiniteBuckets', 0, 1);
    const width = Number(e.raw('width') ?? 1);
    const offset = Number(e.raw('offset') ?? 0);
    for (let i = 0; i <= n; i++) out.push(offset + width * i);
    b.adopt(e);
  } else b.errors.push({ path, message: 'give explicitBuckets, exponentialBuckets or linearBuckets' });
  if (out.some((x) => !Number.isFinite(x))) b.errors.push({ path, message: 'bounds must be numbers' });
  r.adopt(b);
  return out;
}

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const metrics: MetricDef[] = r.list('metrics').map((m, i) => {
    const c = r.child(m, `metrics[${i}]`);
    const name = c.string('name');
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name))
      c.errors.push({ path: `metrics[${i}].name`, message: 'must be a Prometheus metric name' });
    const namespace = c.raw('namespace') === undefined ? 'istio' : c.string('namespace');
    const kind = c.enumOf('kind', ['GAUGE', 'COUNTER', 'DISTRIBUTION'] as const, 'COUNTER');
    const instanceName = c.string('instanceName');
    if (!instanceName) c.errors.push({ path: `metrics[${i}].instance_name`, message: 'required' });
    const labelNames = c.list('labelNames').map(String);
    const buckets = kind === 'DISTRIBUTION' ? readBuckets(c, c.raw('buckets'), `metrics[${i}].buckets`) : [];
    r.adopt(c);
    return {
      name,
      fullName: namespace ? `${namespace}_${name}` : name,
      instanceName,
      kind,
      labelNames,
      description: c.string('description', `Mixer metric ${name}`),
      buckets,
    };
  });
  return { r, metrics };
}

interface Target {
  def: MetricDef;
  series: AdapterSeries;
  /** The label key this target last recorded under and its recorder. */
  lastKey: string | null;
  lastRecord: ((value: number) => void) | null;
}

function numeric(v: unknown, type: 'DURATION' | undefined): number {
  if (typeof v === 'number') return type === 'DURATION' ? v / 1000 : v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return Number(v);
  if (v instanceof Date) return v.getTime() / 1000;
  return NaN;
}

export const prometheusAdapter: AdapterInfo = {
  name: 'prometheus',
  templates: ['metric'],
  validate: (params) => read(params).r.errors,
  build(params, env) {
    const { metrics } = read(params);
    const byInstance = new Map<string, Target[]>();
    // metrics with the same label list share one array, so the key memo below can compare by identity
    const labelLists = new Map<string, string[]>();
    for (const def of metrics) {
      const id = def.labelNames.join('\u0000');
      const known = labelLists.get(id);
      if (known) def.labelNames = known;
      else labelLists.set(id, def.labelNames);
      const series = new AdapterSeries(def.fullName, def.description, def.kind, def.labelNames, def.buckets).register(
        env.promRegistry,
      );
      const list = byInstance.get(def.instanceName) ?? [];
      list.push({ def, series, lastKey: null, lastRecord: null });
      byInstance.set(def.instanceName, list);
    }
    const find = (name: string) => byInstance.get(name) ?? byInstance.get(name.split('.').slice(0, 2).join('.'));
    // per instance name as the runtime passes it (one string per compiled instance): a hit then
    // compares the key by identity, where the handler's own names (from its params) are other
    // strings of the same text, compared character by character on each of the 4 lookups per entry
    const resolved = new Map<string, Target[] | null>();
    const lookup = (name: string) => {
      let t = resolved.get(name);
      if (t === undefined) {
        t = find(name) ?? null;
        if (resolved.size < 10_000) resolved.set(name, t);
      }
      return t;
    };
    return {
      handleReport(instances: readonly Instance[]) {
        // the standard metrics of one request share their dimensions object (CompiledInstance.build's
        // memo): its label key is worked out once, not once per metric; and consecutive requests
        // mostly have the same dimension values (the same value objects: the runtime keeps the
        // values of attributes that did not change along a Report), which then keep the key too
        let lastDims: unknown = null;
        let lastLabels: string[] | null = null;
        let lastRaw: unknown[] = [];
        let lastKey = '';
        let lastValues: string[] = [];
        for (const inst of instances) {
          const targets = lookup(inst.name);
          if (!targets) continue;
          const dims = (inst.fields['dimensions'] ?? {}) as Record<string, AttributeValue>;
          const value = numeric(inst.fields['value'], inst.types['value'] === 'DURATION' ? 'DURATION' : undefined);
          if (!Number.isFinite(value)) continue;
          for (const t of targets) {
            const labelNames = t.def.labelNames;
            if (dims !== lastDims || labelNames !== lastLabels) {
              let same = labelNames === lastLabels;
              for (let i = 0; same && i < labelNames.length; i++) same = dims[labelNames[i]] === lastRaw[i];
              if (!same) {
                lastRaw = labelNames.map((l) => dims[l]);
                lastValues = lastRaw.map((v) => (v === undefined ? '' : valueText(v as AttributeValue)));
                lastKey = lastValues.join('\u0000');
                lastLabels = labelNames;
              }
              lastDims = dims;
            }
            if (t.lastKey !== lastKey) {
              t.lastRecord = t.series.recorder(lastKey, labelNames, lastValues);
              t.lastKey = lastKey;
            }
            (t.lastRecord as (value: number) => void)(value);
          }
        }
      },
      close() {
        for (const def of metrics) {
          const cur = env.promRegistry.getSingleMetric(def.fullName);
          if (cur && byInstance.get(def.instanceName)?.some((t) => t.series === (cur as unknown)))
            env.promRegistry.removeSingleMetric(def.fullName);
        }
      },
    };
  },
};
