/**
 * Throw-away certificates for TLS tests that are not about issuance itself
 * (libs/pki issues the real ones). Made with the `openssl` binary, which is
 * part of the base system on the developer machines and in CI.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp';

export interface TestCert {
  key: string;
  cert: string;
  ca: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * A CA and one leaf for `commonName`, with DNS and URI SANs (e.g. a SPIFFE ID).
 * Requires the `openssl` binary (present on the developer machines and CI).
 */
export function makeTestCert(
  commonName: string,
  sans: { dns?: string[]; uri?: string[]; ip?: string[] } = {},
): TestCert {
  const dir = tempDir('tsmesh-cert-');
  try {
    const cwd = dir.path;
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], cwd);
    openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/O=tsmesh-test/CN=test-ca', '-days', '2', '-out', 'ca.pem'],
      cwd,
    );
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key'], cwd);
    openssl(['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${commonName}`, '-out', 'leaf.csr'], cwd);
    const alt = [
      ...(sans.dns ?? [commonName]).map((d) => `DNS:${d}`),
      ...(sans.uri ?? []).map((u) => `URI:${u}`),
      ...(sans.ip ?? []).map((i) => `IP:${i}`),
    ].join(',');
    writeFileSync(join(cwd, 'ext.cnf'), `subjectAltName=${alt}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        'ext.cnf',
        '-out',
        'leaf.pem',
      ],
      cwd,
    );
    const read = (f: string) => readFileSync(join(cwd, f), 'utf8');
    return { key: read('leaf.key'), cert: read('leaf.pem'), ca: read('ca.pem') };
  } finally {
    dir.cleanup();
  }
}
