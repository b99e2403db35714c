/**
 * Per-connection buffer limits as soft watermarks: with a receiver that does not read, the proxy
 * keeps reading from the sender only until the receiving connection holds about its limit (the
 * cluster's for a request body going upstream, the listener's for a response going downstream).
 * Measured as bytes the sender got off its hands; the kernel's own socket buffers on two loopback
 * hops (a few MiB each way, autotuned) come on top, hence the generous allowance.
 */
import http from 'node:http';
import net from 'node:net';
import { waitFor } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { httpListenerYaml, staticClusterYaml, testEngine, yamlSnapshot } from '../engine/testing';
import { BIG, KERNEL_ALLOWANCE, keepWriting, SMALL, sent, stalled } from '../engine/watermark-testing';

describe('per_connection_buffer_limit_bytes: soft watermarks on the proxy connections', () => {
  jest.setTimeout(60000);
  let dp: Dataplane | undefined;
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await dp?.stop();
    dp = undefined;
  });

  async function proxy(upstream: string, lines: { listener?: string; cluster?: string }): Promise<[string, number]> {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r') + (lines.listener ? `${lines.listener}\n` : '')],
        routes: [
          `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: up, timeout: 0s}
`,
        ],
        clusters: [staticClusterYaml('up', [upstream], lines.cluster ?? '')],
      }),
    );
    const [h, p] = String(dp.address('l')).split(':');
    return [h, Number(p)];
  }

  /** A request body pushed at an upstream that accepts the connection and never reads. */
  async function uploadToDeafUpstream(clusterLimit: number): Promise<{ client: net.Socket }> {
    const held: net.Socket[] = [];
    const deaf = net.createServer({ pauseOnConnect: true }, (s) => held.push(s));
    await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => {
      for (const s of held) s.destroy();
      return new Promise<void>((r) => deaf.close(() => r()));
    });
    const [h, p] = await proxy(`127.0.0.1:${(deaf.address() as net.AddressInfo).port}`, {
      cluster: `per_connection_buffer_limit_bytes: ${clusterLimit}`,
    });
    const client = net.connect(p, h);
    client.on('error', () => undefined);
    cleanups.push(() => client.destroy());
    await new Promise((r) => client.once('connect', r));
    client.write(`POST / HTTP/1.1\r\nhost: a\r\ncontent-length: ${1 << 30}\r\n\r\n`);
    keepWriting(client);
    return { client };
  }

  it("a request body to an upstream that does not read: the proxy holds about the cluster's limit", async () => {
    const { client } = await uploadToDeafUpstream(BIG);
    // The proxy takes at least the limit off the client (its upstream connection buffers that much)...
    await waitFor(() => sent(client) >= BIG, { what: 'the cluster limit buffered', timeoutMs: 30000 });
    // ...and not much more once the upstream connection is past it.
    expect(await stalled(() => sent(client))).toBeLessThan(BIG + KERNEL_ALLOWANCE);
  });

  it('with a small cluster limit the proxy stops reading the client far sooner', async () => {
    const { client } = await uploadToDeafUpstream(SMALL);
    expect(await stalled(() => sent(client))).toBeLessThan(KERNEL_ALLOWANCE);
  });

  /** A response streamed by the upstream to a client that never reads it. */
  async function downloadToDeafClient(listenerLimit: number): Promise<{ upstreamSent: () => number }> {
    let sock: net.Socket | undefined;
    const up = http.createServer((req, res) => {
      sock = res.socket as net.Socket;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      keepWriting(res, () => !res.destroyed);
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => {
      up.closeAllConnections();
      return new Promise<void>((r) => up.close(() => r()));
    });
    const [h, p] = await proxy(`127.0.0.1:${(up.address() as net.AddressInfo).port}`, {
      listener: `per_connection_buffer_limit_bytes: ${listenerLimit}`,
    });
    const client = net.connect(p, h);
    client.on('error', () => undefined);
    cleanups.push(() => client.destroy());
    await new Promise((r) => client.once('connect', r));
    client.pause();
    client.write('GET / HTTP/1.1\r\nhost: a\r\n\r\n');
    await waitFor(() => sock, { what: 'the upstream request' });
    return { upstreamSent: () => (sock ? sent(sock) : 0) };
  }

  it("a response to a client that does not read: the proxy holds about the listener's limit", async () => {
    const { upstreamSent } = await downloadToDeafClient(BIG);
    await waitFor(() => upstreamSent() >= BIG, { what: 'the listener limit buffered', timeoutMs: 30000 });
    expect(await stalled(upstreamSent)).toBeLessThan(BIG + KERNEL_ALLOWANCE);
  });

  it('with a small listener limit the proxy stops reading the upstream far sooner', async () => {
    const { upstreamSent } = await downloadToDeafClient(SMALL);
    expect(await stalled(upstreamSent)).toBeLessThan(KERNEL_ALLOWANCE);
  });
});
