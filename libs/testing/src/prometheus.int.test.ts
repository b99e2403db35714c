/**
 * startPrometheus against a real `prometheus` binary scraping a small HTTP server's /metrics.
 * Skipped with a warning when the binary is missing, failed under CI or TSMESH_E2E_STRICT=1.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import { addressOf } from './ports';
import { prometheusSkipReason, startPrometheus, type Prometheus } from './prometheus';
import { httpRequest } from './http';
import { waitFor } from './wait';

const skip = prometheusSkipReason();
if (skip) console.warn(`SKIPPING prometheus.int.test (libs/testing): ${skip}`);
const maybe = skip ? describe.skip : describe;

maybe('startPrometheus (a real Prometheus)', () => {
  let target: http.Server;
  let prom: Prometheus | undefined;

  beforeAll(async () => {
    target = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end('# TYPE tsmesh_probe_total counter\ntsmesh_probe_total{kind="a"} 3\ntsmesh_probe_total{kind="b"} 4\n');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    prom = await startPrometheus([addressOf(target)]);
  });

  afterAll(async () => {
    await prom?.stop();
    await new Promise((resolve) => target?.close(resolve));
  });

  it('scrapes the target into the istio-mesh job and answers instant queries as samples', async () => {
    const p = prom as Prometheus;
    const samples = await waitFor(
      async () => {
        const v = await p.query('tsmesh_probe_total');
        return v.length === 2 ? v : null;
      },
      { timeoutMs: 20_000, what: 'tsmesh_probe_total scraped' },
    );
    const byKind = Object.fromEntries(samples.map((s) => [s.labels['kind'], s.value]));
    expect(byKind).toEqual({ a: 3, b: 4 });
    expect(samples[0].labels).toMatchObject({ job: 'istio-mesh', instance: addressOf(target) });

    const [sum] = await p.query('sum(tsmesh_probe_total)', samples[0].time);
    expect(sum).toEqual({ labels: {}, value: 7, time: samples[0].time });
  });

  it('rejects a query that is not valid PromQL, or whose result is not a vector', async () => {
    const p = prom as Prometheus;
    await expect(p.query('sum(')).rejects.toThrow(/prometheus query sum\(: 400/);
    await expect(p.query('scalar(vector(1))')).rejects.toThrow(/prometheus query scalar\(vector\(1\)\)/);
  });

  it('stop() ends the process and removes its storage', async () => {
    const p = await startPrometheus([]);
    const storage = await waitFor(async () => {
      const flags = JSON.parse((await httpRequest(`${p.url}/api/v1/status/flags`)).body) as {
        data: Record<string, string>;
      };
      return flags.data['storage.tsdb.path'];
    });
    expect(existsSync(storage)).toBe(true);
    await p.stop();
    expect(existsSync(storage)).toBe(false);
    await expect(httpRequest(`${p.url}/-/ready`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
