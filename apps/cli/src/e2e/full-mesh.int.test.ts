// Everything `npm start` runs: Pilot, Citadel, Mixer, the ingress gateway and a sidecar per pod.
// The demos through the gateway, then the workshop's mutual TLS: with mtls.yaml applied the
// gateway still reaches productpage (ISTIO_MUTUAL), while plaintext straight to the pod is refused.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('full', { needed: ['pilot', 'proxy', 'gateway', 'citadel', 'mixer'] });
if (reason) skipNotice('full-mesh e2e', reason);
const d = mesh ? describe : describe.skip;
const m = mesh as NonNullable<typeof mesh>;
afterAll(() => mesh?.down());

d('the whole mesh', () => {
  const gw = (path: string) => request(`http://${m.gateway}${path}`);

  test.each([
    ['/productpage', 'Reviews served by'],
    ['/order/', 'New order'],
    ['/book/1', '"name":"Book 1"'],
  ])('GET %s through the gateway and sidecars', async (path, text) => {
    const res = await eventually(
      () => gw(path),
      (r) => r.status === 200,
    );
    expect(res.body).toContain(text);
  });

  test('mtls.yaml: the gateway still reaches productpage, plaintext to the pod is refused; deleting it restores plaintext', async () => {
    const pod = `${m.entry('productpage-v1', 9080)}/productpage`;
    const plain = () =>
      request(pod).then(
        (r) => r.status,
        () => 0,
      );
    expect(await plain()).toBe(200);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/mtls.yaml').code).toBe(0);
    expect(await eventually(plain, (s) => s !== 200)).not.toBe(200);
    const viaGateway = await eventually(
      () => gw('/productpage'),
      (r) => r.status === 200 && r.body.includes('Reviews served by'),
    );
    expect(viaGateway.body).not.toContain('Sorry, product reviews are currently unavailable');
    expect(tsmesh(m.stateDir, 'delete', '-f', 'samples/bookinfo/mtls.yaml').code).toBe(0);
    expect(await eventually(plain, (s) => s === 200)).toBe(200);
  });
});
