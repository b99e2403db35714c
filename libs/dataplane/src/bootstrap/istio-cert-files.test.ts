import { istioCertFilesToSds } from './istio-cert-files';

describe('istioCertFilesToSds', () => {
  it('switches the /etc/certs triple to SDS default/ROOTCA and keeps the SAN matchers', () => {
    const cluster = {
      name: 'outbound|9080||reviews.default.svc.cluster.local',
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          common_tls_context: {
            tls_certificates: [
              {
                certificate_chain: { filename: '/etc/certs/cert-chain.pem' },
                private_key: { filename: '/etc/certs/key.pem' },
              },
            ],
            validation_context: {
              trusted_ca: { filename: '/etc/certs/root-cert.pem' },
              match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' }],
            },
            alpn_protocols: ['istio'],
          },
          sni: 'outbound|9080||reviews.default.svc.cluster.local',
        },
      },
    };
    const frozen = JSON.stringify(cluster);
    const out = istioCertFilesToSds(cluster);
    expect(out.transport_socket.typed_config.common_tls_context).toEqual({
      tls_certificate_sds_secret_configs: [{ name: 'default' }],
      combined_validation_context: {
        default_validation_context: {
          match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' }],
        },
        validation_context_sds_secret_config: { name: 'ROOTCA' },
      },
      alpn_protocols: ['istio'],
    });
    expect(out.transport_socket.typed_config.sni).toBe('outbound|9080||reviews.default.svc.cluster.local');
    expect(JSON.stringify(cluster)).toBe(frozen);
  });

  it('leaves other certificates (gateway files, SDS names) untouched', () => {
    const c = {
      common_tls_context: {
        tls_certificates: [
          {
            certificate_chain: { filename: '/etc/istio/ingress/tls.crt' },
            private_key: { filename: '/etc/istio/ingress/tls.key' },
          },
        ],
      },
    };
    expect(istioCertFilesToSds([c])[0]).toBe(c);
  });
});
