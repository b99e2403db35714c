/**
 * envoy.transport_sockets.tls: Upstream/DownstreamTlsContext → Node TLS options. Certificates
 * come inline, from files (read when the config is applied, never per request) or by SDS name
 * through the CertificateProvider chain. SAN matchers (`match_subject_alt_names`,
 * `match_typed_subject_alt_names`) check SPIFFE URI SANs; the peer's URI SAN is the identity
 * filters see as `source.principal`.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import type { FieldError } from '@tsmesh/core';
import { wrapped, type Msg } from '../engine/types';
import { compileStringMatcher, type StringPredicate } from '../http/matchers';
import type { CertificateProvider, TlsCertificate } from './certificate-provider';

/** Reads an Envoy DataSource (`inline_string`, `inline_bytes`, `filename`). */
export function readDataSource(ds: Msg | undefined, path: string, errors: FieldError[]): string | undefined {
  if (!ds) return undefined;
  if (typeof ds['inline_string'] === 'string') return ds['inline_string'];
  if (ds['inline_bytes'] !== undefined) {
    const b = ds['inline_bytes'];
    return Buffer.isBuffer(b) || b instanceof Uint8Array
      ? Buffer.from(b).toString('utf8')
      : Buffer.from(String(b), 'base64').toString('utf8');
  }
  if (typeof ds['filename'] === 'string') {
    try {
      return fs.readFileSync(ds['filename'], 'utf8');
    } catch (e) {
      errors.push({ path: `${path}.filename`, message: `cannot read ${ds['filename']}: ${(e as Error).message}` });
      return undefined;
    }
  }
  return undefined;
}

/** URI SANs of a peer certificate (`URI:spiffe://…` entries of subjectaltname). */
export function uriSans(cert: { subjectaltname?: string } | undefined | null): string[] {
  const alt = cert?.subjectaltname;
  if (!alt) return [];
  return alt
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

export interface ResolvedTls {
  /** Builds the current options (re-resolves SDS names so rotated certs apply to new connections). */
  options(): tls.SecureContextOptions & { ca?: string; cert?: string; key?: string };
  sanMatchers: StringPredicate[];
  alpn: string[];
  requireClientCert: boolean;
  sni?: string;
}

export type SecretLookup = (name: string) => { cert?: TlsCertificate; ca?: string } | undefined;

export function resolveCommonTls(
  ctx: Msg,
  path: string,
  errors: FieldError[],
  secrets: SecretLookup,
  provider: CertificateProvider | undefined,
): ResolvedTls {
  const common = (ctx['common_tls_context'] as Msg | undefined) ?? {};
  const cp = `${path}.common_tls_context`;
  const inlineCerts = ((common['tls_certificates'] as Msg[] | undefined) ?? []).map((c, i) => ({
    cert: readDataSource(c['certificate_chain'], `${cp}.tls_certificates[${i}].certificate_chain`, errors),
    key: readDataSource(c['private_key'], `${cp}.tls_certificates[${i}].private_key`, errors),
  }));
  const sdsCertNames = ((common['tls_certificate_sds_secret_configs'] as Msg[] | undefined) ?? []).map((s) =>
    String(s['name'] ?? ''),
  );
  const vc =
    (common['validation_context'] as Msg | undefined) ??
    (common['combined_validation_context']?.['default_validation_context'] as Msg | undefined);
  const inlineCa = readDataSource(vc?.['trusted_ca'], `${cp}.validation_context.trusted_ca`, errors);
  const sdsCaName =
    (common['validation_context_sds_secret_config']?.['name'] as string | undefined) ??
    (common['combined_validation_context']?.['validation_context_sds_secret_config']?.['name'] as string | undefined);
  const sanMatchers: StringPredicate[] = [
    ...((vc?.['match_subject_alt_names'] as Msg[] | undefined) ?? []).map((m, i) =>
      compileStringMatcher(m, `${cp}.validation_context.match_subject_alt_names[${i}]`, errors),
    ),
    ...((vc?.['match_typed_subject_alt_names'] as Msg[] | undefined) ?? []).map((m, i) =>
      compileStringMatcher(
        m['matcher'],
        `${cp}.validation_context.match_typed_subject_alt_names[${i}].matcher`,
        errors,
      ),
    ),
  ];
  const lookupCert = (name: string): TlsCertificate | undefined =>
    secrets(name)?.cert ?? provider?.getTlsCertificate(name);
  const lookupCa = (name: string): string | undefined =>
    secrets(name)?.ca ?? provider?.getValidationContext(name)?.trustedCa;
  // An SDS name with no secret yet is not an error (Envoy): the client subscribes to the names only once it
  // holds the listener or cluster naming them, which then warms until they arrive (xds-client/warming.ts).
  // Rejecting it here NACKed every first LDS/CDS update that referenced a new secret.
  return {
    options: () => {
      let cert = inlineCerts[0]?.cert;
      let key = inlineCerts[0]?.key;
      if (!cert && sdsCertNames[0]) {
        const c = lookupCert(sdsCertNames[0]);
        cert = c?.certChain;
        key = c?.privateKey;
      }
      const ca = inlineCa ?? (sdsCaName ? lookupCa(sdsCaName) : undefined);
      return { cert, key, ca };
    },
    sanMatchers,
    alpn: ((common['alpn_protocols'] as string[] | undefined) ?? []).map(String),
    requireClientCert: wrapped(ctx['require_client_certificate'], false) === true,
    sni: ctx['sni'] ? String(ctx['sni']) : undefined,
  };
}

/** checkServerIdentity that accepts a certificate when one URI SAN matches (SPIFFE secure naming). */
export function sanChecker(
  matchers: StringPredicate[],
): ((host: string, cert: tls.PeerCertificate) => Error | undefined) | undefined {
  if (matchers.length === 0) return undefined;
  return (_host, cert) => {
    const sans = uriSans(cert);
    const dns = (cert.subjectaltname ?? '')
      .split(/,\s*/)
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4));
    if ([...sans, ...dns].some((s) => matchers.some((m) => m(s)))) return undefined;
    return new Error(`peer certificate SANs [${[...sans, ...dns].join(', ')}] match none of the configured names`);
  };
}

/** The client TLS context of an upstream connection as it stands now (see `upstreamTlsOptions`). */
export interface UpstreamTlsState {
  secureContext: tls.SecureContext;
  /** The chain is verified when a trusted CA is configured. */
  rejectUnauthorized: boolean;
  /** Changes whenever the material changes; TLS sessions are only resumed within one generation. */
  generation: number;
}

/** UpstreamTlsContext as connection options; `current()` is called for every new connection. */
export interface UpstreamTlsOptions {
  servername?: string;
  ALPNProtocols?: string[];
  checkServerIdentity: (host: string, cert: tls.PeerCertificate) => Error | undefined;
  current(): UpstreamTlsState;
}

/**
 * Client-side options for an UpstreamTlsContext. The certificate, key and CA are resolved again
 * for each new upstream connection (SDS names through the snapshot and then the
 * CertificateProvider), so a rotated workload certificate reaches the next connection without a
 * cluster update; the secure context is rebuilt only when the material changed. Established
 * (pooled) connections keep the certificate they were opened with.
 */
export function upstreamTlsOptions(r: ResolvedTls): UpstreamTlsOptions {
  let last: { cert?: string; key?: string; ca?: string; state: UpstreamTlsState } | undefined;
  let generation = 0;
  return {
    servername: r.sni,
    ALPNProtocols: r.alpn.length ? r.alpn : undefined,
    // Without SAN matchers a configured CA verifies the chain only (Envoy does not check the host name).
    checkServerIdentity: sanChecker(r.sanMatchers) ?? (() => undefined),
    current: () => {
      const o = r.options();
      if (last && last.cert === o.cert && last.key === o.key && last.ca === o.ca) return last.state;
      const state: UpstreamTlsState = {
        secureContext: tls.createSecureContext({ cert: o.cert, key: o.key, ca: o.ca }),
        rejectUnauthorized: o.ca !== undefined,
        generation: ++generation,
      };
      last = { cert: o.cert, key: o.key, ca: o.ca, state };
      return state;
    },
  };
}
