/**
 * Where TLS material comes from. `tls_certificate_sds_secret_configs` / `validation_context_sds_secret_config`
 * names are resolved against providers in order: first the Secret resources of the applied
 * snapshot, then any provider the engine was given (the Citadel/mTLS engineer plugs the proxy's
 * rotating workload certificate in here). A provider signals rotation with `onChange`; new
 * connections pick up the new material, established ones keep theirs.
 */
export interface TlsCertificate {
  certChain: string;
  privateKey: string;
}

export interface ValidationContext {
  trustedCa: string;
}

export interface CertificateProvider {
  getTlsCertificate(name: string): TlsCertificate | undefined;
  getValidationContext(name: string): ValidationContext | undefined;
  /** Subscribe to rotations; returns an unsubscribe function. */
  onChange(cb: () => void): () => void;
}

/** A provider holding fixed or programmatically replaced material (tests, file-mounted certs). */
export class StaticCertificateProvider implements CertificateProvider {
  private readonly certs = new Map<string, TlsCertificate>();
  private readonly cas = new Map<string, ValidationContext>();
  private readonly listeners = new Set<() => void>();

  setTlsCertificate(name: string, cert: TlsCertificate): void {
    this.certs.set(name, cert);
    this.emit();
  }
  setValidationContext(name: string, ctx: ValidationContext): void {
    this.cas.set(name, ctx);
    this.emit();
  }
  getTlsCertificate(name: string): TlsCertificate | undefined {
    return this.certs.get(name);
  }
  getValidationContext(name: string): ValidationContext | undefined {
    return this.cas.get(name);
  }
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  private emit(): void {
    for (const l of this.listeners) l();
  }
}
