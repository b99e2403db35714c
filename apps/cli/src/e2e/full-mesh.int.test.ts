// Everything `npm start` runs: Pilot, Citadel, Mixer, the ingress gateway and a sidecar per pod.
// The demos through the gateway, then the workshop's mutual TLS: with mtls.yaml applied the
// gateway still reaches productpage (ISTIO_MUTUAL), while plaintext straight to the pod is refused.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('full', { needed: ['pilot', 'proxy', 'gateway', 'citadel', 'mixer'] });
if (reason) skipNotice('full-mesh e2e', reason);
// The issue asks for ready in under 60 s on a 2-core machine: printed here, not asserted (shared machines vary).
if (mesh)
  process.stderr.write(`[e2e full] tsmesh up -d (full demo overlay, every component) ready in ${mesh.upMs} ms\n`);
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

  test('tsmesh down leaves no process (supervisor and every process it started)', () => {
    const st = JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as {
      supervisorPid: number;
      processes: { name: string; pid: number | null }[];
    };
    const pids = [st.supervisorPid, ...st.processes.map((p) => p.pid).filter((p): p is number => !!p)];
    expect(pids.length).toBeGreaterThan(10);
    expect(pids.filter(alive)).toEqual(pids);
    expect(tsmesh(m.stateDir, 'down').code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    m.down();
  });
});
