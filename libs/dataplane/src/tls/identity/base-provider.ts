/**
 * Shared plumbing of the identity providers: the current material, readiness,
 * rotation listeners, and the CertificateProvider view (`default`, `ROOTCA`).
 */
import type { StatsStore } from '../../stats/store';
import type { TlsCertificate, ValidationContext } from '../certificate-provider';
import { SDS_CERT_NAME, SDS_ROOT_NAME, type IdentityMaterial, type IdentityProvider } from './types';

export abstract class BaseIdentityProvider implements IdentityProvider {
  protected material: IdentityMaterial | undefined;
  private readonly rotateListeners = new Set<(m: IdentityMaterial) => void>();
  private readonly changeListeners = new Set<() => void>();
  private resolveReady!: () => void;
  private readonly readyPromise = new Promise<void>((r) => (this.resolveReady = r));

  ready(): Promise<void> {
    return this.readyPromise;
  }

  current(): IdentityMaterial | undefined {
    return this.material;
  }

  onRotate(cb: (m: IdentityMaterial) => void): () => void {
    this.rotateListeners.add(cb);
    return () => this.rotateListeners.delete(cb);
  }

  onChange(cb: () => void): () => void {
    this.changeListeners.add(cb);
    return () => this.changeListeners.delete(cb);
  }

  getTlsCertificate(name: string): TlsCertificate | undefined {
    if (name !== SDS_CERT_NAME || !this.material) return undefined;
    return { certChain: this.material.certChainPem, privateKey: this.material.privateKeyPem };
  }

  getValidationContext(name: string): ValidationContext | undefined {
    if (name !== SDS_ROOT_NAME || !this.material) return undefined;
    return { trustedCa: this.material.rootCertPem };
  }

  /**
   * Publishes `identity.cert_expiry_timestamp_seconds`, `identity.cert_rotations` and
   * `identity.cert_fetch_failures` (alert on expiry approaching while failures grow).
   */
  attachStats(store: StatsStore): this {
    this.stats = store;
    if (this.material)
      store.gauge('identity.cert_expiry_timestamp_seconds').set(Math.floor(this.material.notAfter / 1000));
    return this;
  }

  protected stats: StatsStore | undefined;

  protected countFailure(): void {
    this.stats?.counter('identity.cert_fetch_failures').inc();
  }

  protected install(m: IdentityMaterial): void {
    this.material = m;
    this.stats?.gauge('identity.cert_expiry_timestamp_seconds').set(Math.floor(m.notAfter / 1000));
    this.stats?.counter('identity.cert_rotations').inc();
    this.resolveReady();
    for (const l of this.rotateListeners) l(m);
    for (const l of this.changeListeners) l();
  }

  abstract stop(): void;
}
