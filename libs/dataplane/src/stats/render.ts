/**
 * Envoy's admin renderings of a StatsStore: `/stats` (`name: value` lines, histograms as
 * `P0(…) P25(…) …` summaries) and `/stats/prometheus` (`envoy_` prefix, Istio's tag names as labels).
 */
import type { Counter, Gauge, Histogram, StatsStore } from './store';

const QUANTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

export function renderStatsText(store: StatsStore, filter?: RegExp): string {
  const lines: string[] = [];
  for (const s of [...store.counters(), ...store.gauges()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!filter || filter.test(s.name)) lines.push(`${s.name}: ${s.value}`);
  }
  for (const h of store.histograms()) {
    if (filter && !filter.test(h.name)) continue;
    if (h.count === 0) {
      lines.push(`${h.name}: No recorded values`);
      continue;
    }
    const parts = QUANTILES.map((q) => `P${q * 100}(${h.quantile(q)},${h.quantile(q)})`);
    lines.push(`${h.name}: ${parts.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

function promName(s: { name: string; tags?: { base: string } }): string {
  return 'envoy_' + (s.tags?.base ?? s.name).replace(/[^a-zA-Z0-9_]/g, '_');
}

function promLabels(labels: Readonly<Record<string, string>> | undefined, extra?: string): string {
  const parts = Object.entries(labels ?? {}).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function renderPrometheus(store: StatsStore): string {
  const out: string[] = [];
  const group = <T extends Counter | Gauge | Histogram>(items: T[]): Map<string, T[]> => {
    const m = new Map<string, T[]>();
    for (const i of items) {
      const n = promName(i);
      const list = m.get(n);
      if (list) list.push(i);
      else m.set(n, [i]);
    }
    return m;
  };
  for (const [kind, items] of [
    ['counter', store.counters()],
    ['gauge', store.gauges()],
  ] as const) {
    for (const [name, list] of group<Counter | Gauge>(items)) {
      out.push(`# TYPE ${name} ${kind}`);
      for (const s of list) out.push(`${name}${promLabels(s.tags?.labels)} ${s.value}`);
    }
  }
  for (const [name, list] of group(store.histograms())) {
    out.push(`# TYPE ${name} histogram`);
    for (const h of list) {
      let cumulative = 0;
      h.buckets.forEach((b, i) => {
        cumulative += h.counts[i];
        out.push(`${name}_bucket${promLabels(h.tags?.labels, `le="${b}"`)} ${cumulative}`);
      });
      out.push(`${name}_bucket${promLabels(h.tags?.labels, 'le="+Inf"')} ${h.count}`);
      out.push(`${name}_sum${promLabels(h.tags?.labels)} ${h.sum}`);
      out.push(`${name}_count${promLabels(h.tags?.labels)} ${h.count}`);
    }
  }
  return out.join('\n') + '\n';
}
