/**
 * tcp_proxy and the cluster's `per_connection_buffer_limit_bytes`: the upstream connection's soft
 * write watermark. With an upstream that accepts and never reads, the proxy keeps reading the
 * client only until about the cluster's limit waits on the upstream connection. Measured as bytes
 * the client got off its hands; the kernel's own socket buffers on two loopback hops (a few MiB
 * each way, autotuned) come on top, hence the generous allowance (as http/buffer-watermarks).
 */
import net from 'node:net';
import { waitFor } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { staticClusterYaml, tcpProxyListenerYaml, testEngine, yamlSnapshot } from '../engine/testing';
import { BIG, KERNEL_ALLOWANCE, keepWriting, SMALL, sent, stalled } from '../engine/watermark-testing';

describe('tcp_proxy: the cluster per_connection_buffer_limit_bytes bounds the upstream connection', () => {
  jest.setTimeout(60_000);
  let dp: Dataplane | undefined;
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await dp?.stop();
    dp = undefined;
  });

  /** A client streaming through a tcp_proxy listener to an upstream that accepts and never reads. */
  async function streamToDeafUpstream(
    clusterLimit: number,
  ): Promise<{ client: net.Socket; upstreamConns: () => number }> {
    const held: net.Socket[] = [];
    const deaf = net.createServer({ pauseOnConnect: true }, (s) => held.push(s));
    await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => {
      for (const s of held) s.destroy();
      return new Promise<void>((r) => deaf.close(() => r()));
    });
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [tcpProxyListenerYaml('tcp', 'up', 'deaf')],
        clusters: [
          staticClusterYaml(
            'up',
            [`127.0.0.1:${(deaf.address() as net.AddressInfo).port}`],
            `per_connection_buffer_limit_bytes: ${clusterLimit}`,
          ),
        ],
      }),
    );
    const [h, p] = String(dp.address('tcp')).split(':');
    const client = net.connect(Number(p), h);
    client.on('error', () => undefined);
    cleanups.push(() => client.destroy());
    await new Promise((r) => client.once('connect', r));
    keepWriting(client);
    return { client, upstreamConns: () => held.length };
  }

  it("a client streaming to an upstream that does not read: the proxy holds about the cluster's limit", async () => {
    const { client, upstreamConns } = await streamToDeafUpstream(BIG);
    await waitFor(() => upstreamConns() === 1, { what: 'the upstream connection', timeoutMs: 10_000 });
    // The proxy takes at least the limit off the client (its upstream connection buffers that much)...
    await waitFor(() => sent(client) >= BIG, { what: 'the cluster limit buffered', timeoutMs: 30_000 });
    // ...and not much more once the upstream connection is past it.
    expect(await stalled(() => sent(client))).toBeLessThan(BIG + KERNEL_ALLOWANCE);
  });

  it('with a small cluster limit the proxy stops reading the client far sooner', async () => {
    const { client, upstreamConns } = await streamToDeafUpstream(SMALL);
    await waitFor(() => upstreamConns() === 1, { what: 'the upstream connection', timeoutMs: 10_000 });
    expect(await stalled(() => sent(client))).toBeLessThan(KERNEL_ALLOWANCE);
  });
});
