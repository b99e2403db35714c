/**
 * The proxy's own workload identity: a key made in this process (it never
 * leaves it), a certificate chain from Citadel or from the 1.0 `/etc/certs`
 * files, and the mesh root. An IdentityProvider is also the engine's
 * CertificateProvider for Istio's SDS names `default` (cert + key) and
 * `ROOTCA` (trust bundle), so listeners and clusters configured by Pilot pick
 * up rotated material on their next handshake without dropping connections.
 */
import type { KeyObject } from 'node:crypto';
import type { CertificateProvider } from '../certificate-provider';

export const SDS_CERT_NAME = 'default';
export const SDS_ROOT_NAME = 'ROOTCA';

export interface IdentityMaterial {
  /** SPIFFE ID in the leaf's URI SAN. */
  spiffeId: string;
  privateKey: KeyObject;
  /** PKCS#8 PEM of the key, in memory only (Node's TLS wants PEM). */
  privateKeyPem: string;
  /** Leaf first, then intermediates (no root), PEM. */
  certChainPem: string;
  rootCertPem: string;
  notBefore: number;
  notAfter: number;
  /** The brief's short names: `key` = privateKey, `chain` = PEM certificates leaf first, `root` = rootCertPem. */
  key: KeyObject;
  chain: string[];
  root: string;
}

export interface IdentityProvider extends CertificateProvider {
  /** Resolves once the first certificate is in hand (the proxy is not ready before). */
  ready(): Promise<void>;
  current(): IdentityMaterial | undefined;
  /** Called after every successful (re)issue or file change; returns an unsubscribe function. */
  onRotate(cb: (m: IdentityMaterial) => void): () => void;
  stop(): void;
}
