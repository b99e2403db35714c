// Cost of @tsmesh/mesh-config side by side with a bare YAML parse of the same text:
// `node tools/bench/run.mjs mesh-config [objects]`. Rows are per whole batch.
import { parseAllDocuments } from 'yaml';
import { ConfigStore, loadYaml, validateAll } from '@tsmesh/mesh-config';

const N = Number(process.argv[2] ?? 300);

function pair(i: number): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: svc-${i}
  namespace: ns-${i % 10}
spec:
  hosts: [svc-${i}]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
      uri: {regex: "^/api/v[0-9]+/items/.*$"}
    route:
    - destination: {host: svc-${i}, subset: v2}
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure"}
    fault:
      delay: {percent: 10, fixedDelay: 5s}
  - route:
    - destination: {host: svc-${i}, subset: v1}
      weight: 75
    - destination: {host: svc-${i}, subset: v2}
      weight: 25
    timeout: 10s
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: svc-${i}
  namespace: ns-${i % 10}
spec:
  host: svc-${i}
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 100}
      http: {http1MaxPendingRequests: 10, maxRequestsPerConnection: 1}
    outlierDetection: {consecutiveErrors: 5, interval: 10s, baseEjectionTime: 30s}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
}

function measure(fn: () => unknown, minMs = 1000): number {
  for (let i = 0; i < 2; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return n / (elapsed / 1000);
}

const text = Array.from({ length: N }, (_, i) => pair(i)).join('---\n');
const loaded = loadYaml(text, 'bench.yaml');
if (loaded.errors.length > 0 || loaded.objects.length !== 2 * N) throw new Error('bench input does not load cleanly');

const bare = measure(() => parseAllDocuments(text).map((d) => d.toJS()));
const load = measure(() => loadYaml(text, 'bench.yaml'));
const validate = measure(() => validateAll(loaded.objects));
const store = measure(() => new ConfigStore().apply(loaded.objects));
const reapply = (() => {
  const s = new ConfigStore();
  s.apply(loaded.objects);
  return measure(() => s.apply(loaded.objects));
})();

const rows: Array<[string, number]> = [
  ['yaml parseAllDocuments + toJS (baseline)', bare],
  ['loadYaml (objects + file/line of every field)', load],
  ['validateAll (schema + normalize + semantic + cross-object)', validate],
  ['ConfigStore.apply into an empty store', store],
  ['ConfigStore.apply of unchanged objects', reapply],
];
console.log(`\n${2 * N} objects (${(text.length / 1024).toFixed(0)} KiB) per batch\n`);
console.log('| step | batches/s | objects/s | time vs bare parse |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, rate] of rows) {
  console.log(`| ${name} | ${rate.toFixed(1)} | ${(rate * 2 * N).toFixed(0)} | ${(bare / rate).toFixed(2)}× |`);
}
