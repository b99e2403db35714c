/**
 * Where a verified JWT is left for later filters. Envoy's jwt_authn writes the
 * payload under `envoy.filters.http.jwt_authn` → `<payload_in_metadata>`;
 * Istio's `istio_authn` filter then exposes `request.auth.principal`
 * (`<iss>/<sub>`), `request.auth.audiences`, `request.auth.presenter` and
 * `request.auth.claims`. tsmesh fills both here so the RBAC filter's metadata
 * matchers (filter `istio_authn`) work as Istio generates them.
 */
export const JWT_METADATA_NAMESPACE = 'envoy.filters.http.jwt_authn';
export const ISTIO_AUTHN_NAMESPACE = 'istio_authn';

export interface IstioAuthnMetadata {
  'request.auth.principal': string;
  'request.auth.audiences': string;
  'request.auth.presenter': string;
  'request.auth.claims': Record<string, unknown>;
  'request.auth.raw_claims': string;
}

export function istioAuthnFor(payload: Record<string, unknown>): IstioAuthnMetadata {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const aud = payload['aud'];
  return {
    'request.auth.principal': `${str(payload['iss'])}/${str(payload['sub'])}`,
    'request.auth.audiences': Array.isArray(aud) ? aud.map(String).join(',') : str(aud),
    'request.auth.presenter': str(payload['azp']),
    'request.auth.claims': payload,
    'request.auth.raw_claims': JSON.stringify(payload),
  };
}
