import { defineErrors } from '@tsmesh/core';

/** Errors of the PKI library (bad identities, requests and certificates). */
export const pkiErrors = defineErrors('pki', {
  PKI_ERR_BAD_SPIFFE_ID: {
    message: 'invalid SPIFFE ID "{id}": {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Use spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount> with lower-case trust domain and no query, fragment, port or percent-escapes.',
  },
  PKI_ERR_BAD_CSR: {
    message: 'invalid certificate signing request: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Send one PEM "CERTIFICATE REQUEST" (PKCS#10) signed by its own key (EC P-256 or RSA ≥ 2048).',
  },
  PKI_ERR_BAD_CERT: {
    message: 'invalid certificate: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Check the PEM file is an X.509 certificate (and the key matches it).',
  },
  PKI_ERR_BAD_KEY: {
    message: 'invalid private key: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Use a PEM PKCS#8, SEC1 or PKCS#1 private key, EC P-256 or RSA ≥ 2048.',
  },
});
