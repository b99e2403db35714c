/**
 * A listener is built once per resource object (by the ACK/NACK check, or kept while it runs with
 * that very object), so its downstream TLS names (SDS `tls_certificate_sds_secret_configs`) must
 * resolve against the Secret resources of the snapshot that goes live, not those around when it was
 * built: a Secret pushed without an LDS update (SDS rotation) reaches the listener's next
 * handshake, and a listener built by `validate` before a Secret changed serves the changed one.
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { makeTestCert, type TestCert } from '@tsmesh/testing';
import type { HttpFilterFactory } from '../filters/types';
import type { Dataplane } from './dataplane';
import { httpListenerYaml, testEngine, yamlSnapshot } from './testing';
import { TYPE_URLS, type Msg, type Snapshot } from './types';

const SDS_NAME = 'server_cert';
const COUNT_FILTER = 'tsmesh.test.listener_build_count';
const COUNT_TYPE = 'type.googleapis.com/tsmesh.test.ListenerBuildCount';

function secret(cert: TestCert): Msg {
  return {
    name: SDS_NAME,
    tls_certificate: { certificate_chain: { inline_string: cert.cert }, private_key: { inline_string: cert.key } },
  };
}

/** Listener `l` (HCM with the counting filter, RDS `r`) terminating TLS with the SDS certificate `server_cert`. */
function tlsListener(prefix = 'l'): Msg {
  const l = yamlSnapshot({ listeners: [httpListenerYaml('l', 'r')] }).listeners[0];
  const hcm = l['filter_chains'][0]['filters'][0]['typed_config'] as Msg;
  hcm['stat_prefix'] = prefix;
  hcm['http_filters'] = [{ name: COUNT_FILTER, typed_config: { '@type': COUNT_TYPE } }, ...hcm['http_filters']];
  l['filter_chains'][0]['transport_socket'] = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TYPE_URLS.downstreamTls,
      common_tls_context: { tls_certificate_sds_secret_configs: [{ name: SDS_NAME }] },
    },
  };
  return l;
}

/** Serial number of the certificate the listener presents on a new connection. */
function servedSerial(address: string): Promise<string> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      { host: address.slice(0, i), port: Number(address.slice(i + 1)), rejectUnauthorized: false },
      () => {
        const serial = s.getPeerCertificate().serialNumber;
        s.destroy();
        resolve(serial);
      },
    );
    s.on('error', reject);
  });
}

const serialOf = (c: TestCert) => new X509Certificate(c.cert).serialNumber;

describe('downstream TLS of a listener built once', () => {
  let certs: TestCert[];
  let dp: Dataplane;
  let builds = 0;
  const countingFilter: HttpFilterFactory<null, null> = {
    name: COUNT_FILTER,
    typeUrls: [COUNT_TYPE],
    parseConfig: () => {
      builds++;
      return null;
    },
    create: () => () => ({}),
  };

  beforeAll(() => {
    certs = [makeTestCert('one'), makeTestCert('two'), makeTestCert('three')];
  });
  beforeEach(() => {
    dp = testEngine();
    builds = 0;
    dp.filters.register(countingFilter);
  });
  afterEach(async () => {
    await dp.stop();
  });

  const snapshot = (listener: Msg, cert: TestCert): Snapshot => ({
    ...yamlSnapshot({}),
    listeners: [listener],
    secrets: [secret(cert)],
  });

  it('a Secret pushed without an LDS update reaches the next handshake of the kept listener', async () => {
    const listener = tlsListener();
    await dp.apply(snapshot(listener, certs[0]));
    expect(await servedSerial(dp.address('l') ?? '')).toBe(serialOf(certs[0]));
    const before = builds;
    await dp.apply(snapshot(listener, certs[1]));
    expect(builds).toBe(before);
    expect(await servedSerial(dp.address('l') ?? '')).toBe(serialOf(certs[1]));
  });

  it('a listener built by validate serves the Secret of the snapshot it is applied with', async () => {
    await dp.apply(snapshot(tlsListener(), certs[0]));
    const next = tlsListener('l_next');
    expect(dp.validate(TYPE_URLS.listener, [next])).toEqual([]);
    const before = builds;
    await dp.apply(snapshot(next, certs[2]));
    expect(builds).toBe(before);
    expect(dp.stats.value('listener_manager.listener_in_place_updated')).toBe(1);
    expect(await servedSerial(dp.address('l') ?? '')).toBe(serialOf(certs[2]));
  });
});
