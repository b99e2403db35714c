import http2 from 'node:http2';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

describe('HTTP/2 abuse', () => {
  let dp: Dataplane;
  let u: TestUpstream;
  beforeAll(async () => {
    u = await startUpstream('u', () => undefined);
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`,
        ],
        clusters: [staticClusterYaml('c', [u.address])],
      }),
    );
  });
  afterAll(async () => {
    await dp.stop();
    await u.close();
  });

  it('closes a session that opens and immediately resets streams (rapid reset)', async () => {
    const session = http2.connect(`http://${dp.address('l')}`);
    session.on('error', () => undefined);
    const closed = new Promise<number | undefined>((resolve) => {
      session.once('goaway', (code) => resolve(code));
      session.once('close', () => resolve(undefined));
    });
    await new Promise<void>((r) => session.once('remoteSettings', () => r()));
    for (let i = 0; i < 400 && !session.destroyed && !session.closed; i++) {
      try {
        const st = session.request({ ':path': `/x${i}`, ':method': 'GET' });
        st.on('error', () => undefined);
        st.close(http2.constants.NGHTTP2_CANCEL);
      } catch {
        break;
      }
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    const code = await closed;
    expect(code === undefined || code === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM).toBe(true);
    expect(session.destroyed || session.closed).toBe(true);
  });

  it('advertises SETTINGS_MAX_CONCURRENT_STREAMS 100', async () => {
    const session = http2.connect(`http://${dp.address('l')}`, {
      peerMaxConcurrentStreams: 1000,
    } as http2.ClientSessionOptions);
    session.on('error', () => undefined);
    await new Promise<void>((r) => session.once('remoteSettings', () => r()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    session.destroy();
  });
});
