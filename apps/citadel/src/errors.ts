import { defineErrors } from '@tsmesh/core';

export const citadelErrors = defineErrors('citadel', {
  CITADEL_ERR_CA_LOAD: {
    message: 'cannot load the CA from {dir}: {why}',
    http: 500,
    grpc: 'FAILED_PRECONDITION',
    hint: 'Check --ca-dir / --cacerts-dir: the files must be readable PEM and the key must match ca-cert.pem.',
  },
  CITADEL_ERR_UNAUTHENTICATED: {
    message: 'caller is not authenticated: {why}',
    http: 401,
    grpc: 'UNAUTHENTICATED',
    hint: 'Send `authorization: Bearer <token>` with a service-account token or a bootstrap token from the launcher.',
  },
  CITADEL_ERR_IDENTITY_MISMATCH: {
    message: 'CSR asks for {requested} but the caller proved {proved}',
    http: 403,
    grpc: 'PERMISSION_DENIED',
    hint: 'A workload may only request its own SPIFFE ID (its namespace, service account and the mesh trust domain).',
  },
  CITADEL_ERR_BAD_REQUEST: {
    message: 'bad certificate request: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Send a PEM PKCS#10 CSR and a validity no longer than --max-workload-cert-ttl.',
  },
  CITADEL_ERR_TOKENS_FILE: {
    message: 'cannot read bootstrap tokens file {file}: {why}',
    http: 500,
    grpc: 'INTERNAL',
    hint: 'Each line is `<token> <namespace>/<serviceaccount>`; blank lines and # comments are ignored.',
  },
});
