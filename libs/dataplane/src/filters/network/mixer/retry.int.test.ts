/**
 * The TCP `mixer` network filter retries its Check as the transport's NetworkFailPolicy says
 * (max_retry, base_retry_wait, max_retry_wait), in a real engine (listener → mixer → tcp_proxy →
 * an echo server) against a scripted Mixer on loopback that answers UNAVAILABLE a given number
 * of times.
 */
import net from 'node:net';
import { SequenceRandom } from '@tsmesh/core';
import type { Dataplane } from '../../../engine/dataplane';
import { staticClusterYaml, testEngine, yamlSnapshot } from '../../../engine/testing';
import { OK_ANSWER, ScriptedMixer, unavailable } from '../../http/mixer/testing';
import { tcpMixerFilterWith } from './index';

function listener(name: string, checkCluster: string, policy: string): string {
  return `
name: ${name}
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- filters:
  - name: mixer
    typed_config:
      "@type": type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig
      transport:
        check_cluster: "${checkCluster}"
        disable_check_cache: true
        network_fail_policy: ${policy}
      mixer_attributes:
        attributes:
          destination.service.name: {string_value: mongodb}
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: ${name}
      cluster: upstream
`;
}

/** Writes `text` and collects what comes back until the proxy closes the connection (or it is all back). */
function exchange(address: string, text: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    let got = '';
    s.on('connect', () => s.write(text));
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) s.end();
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}

describe('TCP mixer filter Check retries', () => {
  const mixer = new ScriptedMixer();
  const echo = net.createServer((s) => s.pipe(s));
  const filter = tcpMixerFilterWith({ transport: { checkTimeoutMs: 10_000 } });
  let dp: Dataplane;

  beforeAll(async () => {
    await mixer.start();
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const upstream = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
    // a draw of 0 waits exactly base_retry_wait
    dp = testEngine({ random: new SequenceRandom([0]) });
    dp.filters.registerNetwork(filter);
    await dp.apply(
      yamlSnapshot({
        listeners: [
          listener(
            'retry2',
            mixer.address,
            '{policy: FAIL_CLOSE, max_retry: 2, base_retry_wait: 0.01s, max_retry_wait: 0.05s}',
          ),
          listener('retry0', mixer.address, '{policy: FAIL_CLOSE, max_retry: 0}'),
        ],
        clusters: [staticClusterYaml('upstream', [upstream])],
      }),
    );
  });

  afterAll(async () => {
    await dp?.stop();
    await filter.handle.close();
    await new Promise<void>((r) => echo.close(() => r()));
    await mixer.stop();
  });

  const checks = () => mixer.calls.filter((c) => c.path === '/istio.mixer.v1.Mixer/Check').length;
  const stat = (name: string) => dp.stats.value(`tcp_mixer_filter.${name}`);

  it('max_retry 2: two UNAVAILABLE answers, then OK on the third try; the connection goes through', async () => {
    mixer.reset([unavailable(), unavailable(), OK_ANSWER]);
    const before = stat('total_remote_call_retries');
    expect(await exchange(dp.address('retry2') as string, 'hello mongo')).toBe('hello mongo');
    expect(checks()).toBe(3);
    expect(stat('total_remote_call_retries') - before).toBe(2);
  });

  it('max_retry 0 with FAIL_CLOSE: the first UNAVAILABLE closes the connection before any byte goes upstream', async () => {
    mixer.reset([unavailable(), OK_ANSWER]);
    const closes = stat('total_check_fail_close');
    expect(await exchange(dp.address('retry0') as string, 'hello mongo')).toBe('');
    expect(checks()).toBe(1);
    expect(stat('total_check_fail_close') - closes).toBe(1);
  });
});
