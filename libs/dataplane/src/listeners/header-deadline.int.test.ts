import net from 'node:net';
import { FakeClock } from '@tsmesh/core';
import { httpListenerYaml, startUpstream, staticClusterYaml, testEngine, until, yamlSnapshot } from '../engine/testing';

const ROUTES = `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`;

describe('HTTP/1 request_headers_timeout on the injected clock', () => {
  it('answers 408 and closes when the first request headers are not complete by the deadline', async () => {
    const clock = new FakeClock();
    const up = await startUpstream('u');
    const dp = testEngine({ clock });
    try {
      await dp.apply(
        yamlSnapshot({
          listeners: [httpListenerYaml('l', 'r', [], 'request_headers_timeout: 10s')],
          routes: [ROUTES],
          clusters: [staticClusterYaml('c', [up.address])],
        }),
      );
      const [host, port] = (dp.address('l') as string).split(':');
      const timersBefore = clock.pending();
      const sock = net.connect(Number(port), host);
      let received = '';
      let closed = false;
      sock.setEncoding('utf8');
      sock.on('data', (c: string) => (received += c));
      sock.on('error', () => undefined);
      sock.on('close', () => (closed = true));
      sock.write('GET / HTTP/1.1\r\nhost: a\r\nx-slow: ');
      // The deadline is armed once the connection is handed to the HTTP/1 codec (after its first bytes).
      await until(() => clock.pending() > timersBefore);
      clock.advance(9_999);
      await new Promise((r) => setImmediate(r));
      expect(received).toBe('');
      clock.advance(1);
      await until(() => received.length > 0);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      clock.advance(100);
      await until(() => closed);
      expect(up.requests).toHaveLength(0);
    } finally {
      await dp.stop();
      await up.close();
    }
  });
});
