import { REDACTED, redactResource, redactStored } from './redact';

const PEM_KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n';

describe('debug redaction', () => {
  it('keeps the keys of a Secret but not its values, nor the kubectl last-applied copy', () => {
    const secret = {
      kind: 'Secret',
      metadata: {
        name: 'gw-cert',
        namespace: 'istio-system',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { 'tls.key': PEM_KEY } }),
          team: 'edge',
        },
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Q0VSVA==', 'tls.key': Buffer.from(PEM_KEY).toString('base64') },
      stringData: { 'ca.crt': 'CA' },
    };
    const out = redactStored(secret);
    expect(out['data']).toEqual({ 'tls.crt': REDACTED, 'tls.key': REDACTED });
    expect(out['stringData']).toEqual({ 'ca.crt': REDACTED });
    expect(JSON.stringify(out)).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(out)).not.toContain(Buffer.from(PEM_KEY).toString('base64'));
    expect((out['metadata'] as { annotations: Record<string, string> }).annotations['team']).toBe('edge');
    // The stored object itself is untouched.
    expect(secret.data['tls.crt']).toBe('Q0VSVA==');
    const vs = { kind: 'VirtualService', spec: { data: { x: 1 } } };
    expect(redactStored(vs)).toBe(vs);
  });

  it('redacts inline private keys and passwords in Envoy resources, leaving file names and certificates', () => {
    const secret = {
      name: 'gw-cert',
      tls_certificate: {
        certificate_chain: { inline_bytes: Buffer.from('CERT') },
        private_key: { inline_bytes: Buffer.from(PEM_KEY) },
        password: { inline_string: 'hunter2' },
      },
    };
    const files = { tls_certificates: [{ private_key: { filename: '/etc/certs/key.pem' } }] };
    const out = redactResource({ sds: [secret], lds: [files] });
    expect(out.sds[0].tls_certificate.private_key).toEqual({ inline_string: REDACTED });
    expect(out.sds[0].tls_certificate.password).toEqual({ inline_string: REDACTED });
    expect(String(out.sds[0].tls_certificate.certificate_chain.inline_bytes)).toBe('CERT');
    expect(out.lds[0]).toEqual(files);
  });
});
