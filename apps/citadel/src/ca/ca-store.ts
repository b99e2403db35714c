/**
 * Where the CA's signing key and certificates come from: a self-signed root kept
 * in --ca-dir (created on first start; key file 0600, directory 0700), or a
 * plugged-in intermediate in Istio's `cacerts` layout. The key is held as a
 * KeyObject and never logged or served.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@tsmesh/core';
import {
  certToPem,
  generateKey,
  loadPrivateKey,
  privateKeyToPem,
  selfSignedRoot,
  splitPemChain,
  verifyChain,
  type KeyAlgorithm,
} from '@tsmesh/pki';
import { citadelErrors } from '../errors';

export interface CaBundle {
  signingKey: KeyObject;
  signingCert: X509Certificate;
  /** Certificates between the signing cert (exclusive) and the root (exclusive). */
  intermediates: X509Certificate[];
  root: X509Certificate;
  rootPem: string;
  /** 'self-signed' or 'plugged-in'. */
  source: 'self-signed' | 'plugged-in';
}

export interface CaStoreOptions {
  caDir: string;
  cacertsDir?: string;
  trustDomain: string;
  rootTtlMs: number;
  keyAlgorithm: KeyAlgorithm;
  now: number;
  logger: Logger;
}

function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

export async function loadOrCreateCa(o: CaStoreOptions): Promise<CaBundle> {
  if (o.cacertsDir) return loadPluggedIn(o.cacertsDir, o.now);
  const keyFile = join(o.caDir, 'ca-key.pem');
  const certFile = join(o.caDir, 'ca-cert.pem');
  if (existsSync(keyFile) && existsSync(certFile)) {
    const mode = statSync(keyFile).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(keyFile, 0o600);
      o.logger.warn({ file: keyFile, mode: mode.toString(8) }, 'CA key file was readable by others; tightened to 0600');
    }
    try {
      const key = loadPrivateKey(readFileSync(keyFile));
      const cert = new X509Certificate(readFileSync(certFile));
      if (!cert.checkPrivateKey(key)) throw new Error('ca-key.pem does not match ca-cert.pem');
      return {
        signingKey: key,
        signingCert: cert,
        intermediates: [],
        root: cert,
        rootPem: certToPem(cert),
        source: 'self-signed',
      };
    } catch (e) {
      throw citadelErrors.error('CITADEL_ERR_CA_LOAD', { dir: o.caDir, why: (e as Error).message });
    }
  }
  try {
    mkdirSync(o.caDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw citadelErrors.error('CITADEL_ERR_CA_LOAD', { dir: o.caDir, why: (e as Error).message });
  }
  const { privateKey } = await generateKey(o.keyAlgorithm);
  const rootPem = selfSignedRoot(privateKey, o.trustDomain, o.rootTtlMs, o.now);
  writeAtomic(keyFile, privateKeyToPem(privateKey), 0o600);
  writeAtomic(certFile, rootPem, 0o644);
  writeAtomic(join(o.caDir, 'root-cert.pem'), rootPem, 0o644);
  o.logger.info({ dir: o.caDir, algorithm: o.keyAlgorithm }, 'generated self-signed root CA');
  const cert = new X509Certificate(rootPem);
  return { signingKey: privateKey, signingCert: cert, intermediates: [], root: cert, rootPem, source: 'self-signed' };
}

function loadPluggedIn(dir: string, now: number): CaBundle {
  const fail = (why: string) => citadelErrors.error('CITADEL_ERR_CA_LOAD', { dir, why });
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (e) {
      throw fail(`${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const keyPem = read('ca-key.pem');
  const certPem = read('ca-cert.pem');
  const rootPem = read('root-cert.pem');
  const chainPem = existsSync(join(dir, 'cert-chain.pem')) ? read('cert-chain.pem') : certPem;
  let key: KeyObject;
  let cert: X509Certificate;
  let roots: X509Certificate[];
  let chain: X509Certificate[];
  try {
    key = loadPrivateKey(keyPem);
    [cert] = splitPemChain(certPem);
    roots = splitPemChain(rootPem);
    chain = splitPemChain(chainPem);
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (!cert || roots.length === 0) throw fail('ca-cert.pem and root-cert.pem must each hold a certificate');
  if (!cert.checkPrivateKey(key)) throw fail('ca-key.pem does not match ca-cert.pem');
  if (!cert.ca) throw fail('ca-cert.pem is not a CA certificate');
  // cert-chain.pem (Istio): signing cert, intermediates, root. Keep only what lies strictly between.
  const intermediates = chain.filter((c) => !c.raw.equals(cert.raw) && !roots.some((r) => r.raw.equals(c.raw)));
  const verdict = verifyChain(cert, intermediates, roots, now);
  if (!verdict.ok) throw fail(`ca-cert.pem does not chain to root-cert.pem (${verdict.reason}: ${verdict.detail})`);
  const root = verdict.chain[verdict.chain.length - 1];
  return { signingKey: key, signingCert: cert, intermediates, root, rootPem: certToPem(root), source: 'plugged-in' };
}
