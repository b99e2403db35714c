/**
 * SDS for gateways: a server `tls.credentialName` names a Kubernetes Secret
 * (`kubernetes.io/tls`: `tls.crt`, `tls.key`, optional `ca.crt`) in the
 * gateway's namespace; Pilot serves it as an Envoy `Secret` over ADS. A
 * `<name>-cacert` secret (Istio's convention) gives the validation context
 * for MUTUAL servers.
 */
import type { Proxy } from '../model/proxy';
import type { PushContext } from '../model/push-context';
import type { Msg } from './names';

type Obj = Record<string, unknown>;

function secretData(ctx: PushContext, namespace: string, name: string): Obj | undefined {
  const o = ctx.store.get(`Secret/${namespace}/${name}`)?.object as Obj | undefined;
  if (!o) return undefined;
  const data = (o['data'] ?? (o['spec'] as Obj | undefined)?.['data']) as Obj | undefined;
  const stringData = (o['stringData'] ?? (o['spec'] as Obj | undefined)?.['stringData']) as Obj | undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(String(v), 'base64');
  for (const [k, v] of Object.entries(stringData ?? {})) out[k] = Buffer.from(String(v));
  return out;
}

/** Envoy Secrets for the requested names, looked up in the proxy's namespace. */
export function gatewaySecrets(proxy: Proxy, ctx: PushContext, names: readonly string[]): Msg[] {
  const out: Msg[] = [];
  for (const name of names) {
    const base = name.endsWith('-cacert') ? name.slice(0, -'-cacert'.length) : undefined;
    if (base) {
      const d = secretData(ctx, proxy.namespace, name) ?? secretData(ctx, proxy.namespace, base);
      const ca = d?.['ca.crt'] ?? d?.['cacert'];
      if (ca) out.push({ name, validation_context: { trusted_ca: { inline_bytes: ca } } });
      continue;
    }
    const d = secretData(ctx, proxy.namespace, name);
    const cert = d?.['tls.crt'] ?? d?.['cert'];
    const key = d?.['tls.key'] ?? d?.['key'];
    if (cert && key)
      out.push({
        name,
        tls_certificate: { certificate_chain: { inline_bytes: cert }, private_key: { inline_bytes: key } },
      });
  }
  return out;
}
