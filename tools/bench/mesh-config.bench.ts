// Cost of @tsmesh/mesh-config side by side with a bare YAML parse of the same text, including the config store
// Pilot serves from, written the way its registries write it (`applyFile` for a folder file, `applyObject` per
// watched object): `node tools/bench/run.mjs mesh-config [objects]`. Rows are per whole batch.
import { parseAllDocuments } from 'yaml';
import { applyFile, applyObject, ConfigStore, loadYaml, validateAll, type MeshObject } from '@tsmesh/mesh-config';

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
/** The same file with every route weight moved, so applying it after `text` changes every VirtualService. */
const edited = text.replace(/weight: 75/g, 'weight: 70').replace(/weight: 25/g, 'weight: 30');
/** What a Kubernetes list returns: the same objects, without apiVersion (the watched resource implies it). */
const listed = parseAllDocuments(text).map((d) => {
  const { apiVersion: _, ...rest } = d.toJS() as MeshObject;
  return rest as MeshObject;
});
{
  const s = new ConfigStore();
  const first = applyFile(s, 'bench.yaml', text);
  const second = applyFile(s, 'bench.yaml', edited);
  const kube = new ConfigStore();
  const listedStored = listed.filter((o) => applyObject(kube, o, 'kube') === 'stored').length;
  if (first.applied !== 2 * N || second.applied !== N || s.listRejections().length > 0 || listedStored !== 2 * N)
    throw new Error('bench input does not apply cleanly');
}

const fileIntoEmpty = measure(() => applyFile(new ConfigStore(), 'bench.yaml', text));
const fileUnchanged = (() => {
  const s = new ConfigStore();
  applyFile(s, 'bench.yaml', text);
  return measure(() => applyFile(s, 'bench.yaml', text));
})();
const fileEdited = (() => {
  const s = new ConfigStore();
  let round = 0;
  return measure(() => applyFile(s, 'bench.yaml', round++ % 2 === 0 ? edited : text));
})();
const relist = (() => {
  const s = new ConfigStore();
  for (const o of listed) applyObject(s, o, 'kube');
  return measure(() => {
    for (const o of listed) applyObject(s, o, 'kube');
  });
})();

const rows: Array<[string, number]> = [
  ['yaml parseAllDocuments + toJS (baseline)', bare],
  ['loadYaml (objects + file/line of every field)', load],
  ['validateAll (schema + normalize + semantic + cross-object)', validate],
  ['applyFile into an empty store (validate, then store)', fileIntoEmpty],
  ['applyFile of the same file again (nothing changes)', fileUnchanged],
  ['applyFile with every VirtualService edited', fileEdited],
  ['applyObject of each listed object, unchanged (Kubernetes relist)', relist],
];
console.log(`\n${2 * N} objects (${(text.length / 1024).toFixed(0)} KiB) per batch\n`);
console.log('| step | batches/s | objects/s | time vs bare parse |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, rate] of rows) {
  console.log(`| ${name} | ${rate.toFixed(1)} | ${(rate * 2 * N).toFixed(0)} | ${(bare / rate).toFixed(2)}× |`);
}
