// Pilot + ingress gateway with the apps behind it but no sidecars (`--without proxy`): every demo's
// entry point through the gateway, and an applied VirtualService change reaching the gateway.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('gateway', {
  needed: ['pilot', 'gateway'],
  extraArgs: ['--without', 'proxy,mixer,citadel'],
});
if (reason) skipNotice('gateway e2e', reason);
const d = mesh ? describe : describe.skip;

d('demos through Pilot and the ingress gateway', () => {
  const m = mesh as NonNullable<typeof mesh>;
  const gw = (path: string) => `http://${m.gateway}${path}`;
  const tmp = mkdtempSync(join(tmpdir(), 'tsmesh-e2e-vs-'));
  afterAll(() => {
    m.down();
    rmSync(tmp, { recursive: true, force: true });
  });

  test.each([
    ['/productpage', 'The Comedy of Errors'],
    ['/api/v1/products', 'The Comedy of Errors'],
    ['/', 'Order Processing'],
    ['/order/', 'New order'],
    ['/shipping/', 'Shipping'],
    ['/invoicing/', 'Invoicing'],
    ['/bonus/', 'Bonus'],
    ['/book/1', '"name":"Book 1"'],
  ])('GET %s through the gateway', async (path, text) => {
    const res = await eventually(
      () => request(gw(path)),
      (r) => r.status === 200,
    );
    expect(res.status).toBe(200);
    expect(res.body).toContain(text);
  });

  test('an applied fault on the ingress route takes effect at the gateway, and deleting it restores the route', async () => {
    const file = join(tmp, 'book-fault.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: networking.istio.io/v1alpha3',
        'kind: VirtualService',
        'metadata: {name: tsmesh-ingress}',
        'spec:',
        '  hosts: ["*"]',
        '  gateways: [tsmesh-gateway]',
        '  http:',
        '  - match: [{uri: {prefix: /book/}}]',
        '    fault: {abort: {percent: 100, httpStatus: 418}}',
        '    route: [{destination: {host: book-service, port: {number: 8080}}}]',
      ].join('\n'),
    );
    expect(tsmesh(m.stateDir, 'apply', '-f', file).code).toBe(0);
    const aborted = await eventually(
      () => request(gw('/book/1')),
      (r) => r.status === 418,
    );
    expect(aborted.status).toBe(418);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/ingress.yaml').code).toBe(0);
    const back = await eventually(
      () => request(gw('/book/1')),
      (r) => r.status === 200,
    );
    expect(back.status).toBe(200);
  });
});
