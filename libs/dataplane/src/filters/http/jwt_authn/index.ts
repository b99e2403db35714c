import type { HttpFilterFactory } from '../../types';
import {
  JWT_AUTHN_NAME,
  JWT_AUTHN_PER_ROUTE_TYPE_URL,
  JWT_AUTHN_TYPE_URL,
  parseJwtAuthn,
  parseJwtPerRoute,
  type JwtAuthnConfig,
  type JwtPerRoute,
} from './config';
import { createJwtAuthnFactory } from './filter';

/** `envoy.filters.http.jwt_authn` (Envoy's JwtAuthentication; keys inline only). */
export const jwtAuthnFilter: HttpFilterFactory<JwtAuthnConfig, JwtPerRoute> = {
  name: JWT_AUTHN_NAME,
  typeUrls: [JWT_AUTHN_TYPE_URL, JWT_AUTHN_PER_ROUTE_TYPE_URL],
  parseConfig: parseJwtAuthn,
  parsePerRoute: parseJwtPerRoute,
  create: createJwtAuthnFactory,
};

export * from './config';
export * from './metadata';
export { compileJwks, selectKeys, SUPPORTED_ALGS, VerificationKey } from './keys';
export { inspectJwt, verifyJwt, MAX_TOKEN_BYTES, type JwtFailure } from './verify';
export { headerGetter, pathOnly } from './filter';
