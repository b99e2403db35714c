import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir, waitFor, type TempDir } from '@tsmesh/testing';
import { startPilot, type RunningPilot } from '../../pilot';
import { AdsClient, type Response } from '../../testing/ads-client';
import { BOOKINFO_YAML } from '../../testing/bookinfo';
import { TYPE } from '../names';
import { registerBuiltinPlugins } from '../register';

// A running Pilot fetches a RequestAuthentication's jwksUri itself and inlines the keys in the
// jwt_authn filter; when the JWKS changes, a push carries the new keys.
let body = '{"keys":[{"kty":"EC","kid":"kid-one","crv":"P-256","x":"a","y":"b"}]}';
const jwksServer = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
});
let dir: TempDir;
let pilot: RunningPilot;
let client: AdsClient | undefined;

beforeAll(async () => {
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
  const uri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  dir = tempDir('pilot-jwks-');
  writeFileSync(join(dir.path, 'bookinfo.yaml'), BOOKINFO_YAML);
  writeFileSync(
    join(dir.path, 'authn.yaml'),
    `apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: {name: reviews-jwt, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules:
  - issuer: testing@secure.istio.io
    jwksUri: ${uri}
`,
  );
  pilot = await startPilot({
    configDir: dir.path,
    grpcAddr: '127.0.0.1:0',
    httpAddr: '127.0.0.1:0',
    debounceAfterMs: 10,
    debounceMaxMs: 1000,
    pollMs: 0,
    registerPlugins: (p, hooks) => registerBuiltinPlugins(p, { ...hooks, jwksRefreshMs: 100 }),
  });
});

afterAll(async () => {
  client?.close();
  await pilot.stop();
  dir.cleanup();
  await new Promise<void>((r) => jwksServer.close(() => r()));
});

/** The inline JWKS of the jwt_authn filter on the reviews sidecar's inbound listener. */
function inlineJwks(lds: Response): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'local_jwks' && x && typeof x === 'object')
          out.push(String((x as Record<string, unknown>)['inline_string']));
        else walk(x);
      }
  };
  walk(lds.resources);
  return out;
}

test('jwksUri keys are fetched by Pilot, inlined, and a JWKS change is pushed', async () => {
  const c = new AdsClient({
    address: pilot.grpcAddress,
    nodeId: 'sidecar~10.1.0.21~reviews-v1-abc.default~default.svc.cluster.local',
    metadata: { LABELS: '{"app":"reviews","version":"v1"}' },
  });
  client = c;
  const ldsResponses: Response[] = [];
  c.onResponse((r) => {
    if (r.type_url !== TYPE.listener) return;
    ldsResponses.push(r);
    c.ack(r);
  });
  c.send(TYPE.listener);
  await waitFor(() => ldsResponses.some((r) => inlineJwks(r).some((j) => j.includes('kid-one'))), {
    timeoutMs: 10_000,
  });
  const first = ldsResponses.find((r) => inlineJwks(r).some((j) => j.includes('kid-one'))) as Response;
  expect(inlineJwks(first)[0]).toBe(body);

  body = '{"keys":[{"kty":"EC","kid":"kid-two","crv":"P-256","x":"c","y":"d"}]}';
  await waitFor(() => ldsResponses.some((r) => inlineJwks(r).some((j) => j.includes('kid-two'))), {
    timeoutMs: 10_000,
  });
  const pushed = ldsResponses.find((r) => inlineJwks(r).some((j) => j.includes('kid-two'))) as Response;
  expect(inlineJwks(pushed)).toEqual([body]);
  expect(pushed.version_info).not.toBe(first.version_info);
});
