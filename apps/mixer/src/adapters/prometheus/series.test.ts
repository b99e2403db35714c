import { createRegistry, metricValue } from '@tsmesh/core';
import { Counter, Gauge, Histogram } from 'prom-client';
import { AdapterSeries } from './series';

const LABELS = ['reporter', 'code'];
const sets = [
  ['source', '200'],
  ['destination', '5"03\n\\'],
];
const observations: Array<[number, number]> = [
  [0, 0.004],
  [0, 0.3],
  [1, 7],
  [0, 100],
  [1, 0.01],
  [0, 2.5],
];

describe('AdapterSeries', () => {
  it("renders exactly what prom-client's own metrics render for the same observations", async () => {
    const buckets = [0.005, 0.01, 0.1, 1, 2.5, 10];
    const theirs = createRegistry(false);
    const ours = createRegistry(false);
    const opts = (name: string) => ({ name, help: `help ${name}`, labelNames: LABELS, registers: [theirs] });
    const c = new Counter(opts('c_total'));
    const g = new Gauge(opts('g'));
    const h = new Histogram({ ...opts('h_seconds'), buckets });
    const oc = new AdapterSeries('c_total', 'help c_total', 'COUNTER', LABELS).register(ours);
    const og = new AdapterSeries('g', 'help g', 'GAUGE', LABELS).register(ours);
    const oh = new AdapterSeries('h_seconds', 'help h_seconds', 'DISTRIBUTION', LABELS, buckets).register(ours);
    for (const [set, v] of observations) {
      const labels = Object.fromEntries(LABELS.map((l, i) => [l, sets[set][i]]));
      c.inc(labels, v);
      g.set(labels, v);
      h.observe(labels, v);
      const key = sets[set].join('\u0000');
      oc.recorder(key, LABELS, sets[set])(v);
      og.recorder(key, LABELS, sets[set])(v);
      oh.recorder(key, LABELS, sets[set])(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await metricValue(ours, 'c_total', { reporter: 'source' })).toBe(
      await metricValue(theirs, 'c_total', { reporter: 'source' }),
    );
    expect(await metricValue(ours, 'h_seconds', { reporter: 'source' })).toBeGreaterThan(0);
    oh.reset();
    expect((await oh.get()).values.every((v) => v.value === 0)).toBe(true);
    expect(await metricValue(ours, 'h_seconds', { reporter: 'source' })).toBe(0);
  });

  it("rejects what prom-client's constructors reject", () => {
    expect(() => new AdapterSeries('bad-name', 'h', 'COUNTER', [])).toThrow(/metric name/);
    expect(() => new AdapterSeries('x', 'h', 'COUNTER', ['bad-label'])).toThrow(/label name/);
    expect(() => new AdapterSeries('x', 'h', 'DISTRIBUTION', ['le'])).toThrow(/reserved/);
    const c = new AdapterSeries('x', 'h', 'COUNTER', []);
    expect(() => c.recorder('', [], [])(-1)).toThrow(/decrease/);
  });
});
