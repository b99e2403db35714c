/**
 * Istio 1.0 names the workload identity by file (`/etc/certs/cert-chain.pem`, `key.pem`,
 * `root-cert.pem`, mounted from the `istio.<sa>` secret). When this proxy has its own identity
 * provider (Citadel CSR flow, key only in memory), those references become the provider's SDS
 * names `default` and `ROOTCA`, keeping every other validation setting (SAN matchers).
 */
import type { Msg } from '../engine/types';

const CERT = /(^|\/)cert-chain\.pem$/;
const KEY = /(^|\/)key\.pem$/;
const ROOT = /(^|\/)root-cert\.pem$/;

function translateCommon(common: Msg): Msg {
  const out: Msg = { ...common };
  const certs = common['tls_certificates'] as Msg[] | undefined;
  if (
    certs?.length === 1 &&
    CERT.test(String(certs[0]['certificate_chain']?.['filename'] ?? '')) &&
    KEY.test(String(certs[0]['private_key']?.['filename'] ?? ''))
  ) {
    delete out['tls_certificates'];
    out['tls_certificate_sds_secret_configs'] = [{ name: 'default' }];
  }
  const vc = common['validation_context'] as Msg | undefined;
  if (vc && ROOT.test(String(vc['trusted_ca']?.['filename'] ?? ''))) {
    const { trusted_ca: _file, ...rest } = vc;
    delete out['validation_context'];
    out['combined_validation_context'] = {
      default_validation_context: rest,
      validation_context_sds_secret_config: { name: 'ROOTCA' },
    };
  }
  return out;
}

/** Returns `resource` with every Istio cert-file TLS context switched to SDS (a copy when changed). */
export function istioCertFilesToSds<T>(resource: T): T {
  if (Array.isArray(resource)) {
    let changed = false;
    const out = resource.map((v) => {
      const t = istioCertFilesToSds(v);
      if (t !== v) changed = true;
      return t;
    });
    return (changed ? out : resource) as T;
  }
  if (!resource || typeof resource !== 'object') return resource;
  const o = resource as Msg;
  let out: Msg | undefined;
  for (const [k, v] of Object.entries(o)) {
    const t =
      k === 'common_tls_context' && v && typeof v === 'object' ? translateCommon(v as Msg) : istioCertFilesToSds(v);
    if (t !== v && JSON.stringify(t) !== JSON.stringify(v)) (out ??= { ...o })[k] = t;
  }
  return (out ?? resource) as T;
}
