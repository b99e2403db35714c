export * from './errors';
export * from './spiffe';
export * from './keys';
export * from './csr';
export * from './cert';
export * from './verify';
export * from './rotation';
export { toPem, fromPem } from './asn1';
export type { SubjectAltNames } from './extensions';
