import type { FieldError } from '@tsmesh/core';
import { collectErrors } from './from-json';

/**
 * Checks an object-form message — one just decoded from an xDS response, or one Pilot built in
 * code — with everything fromJson checks: unknown fields (which encode would silently drop),
 * value types, unknown `@type`s, oneofs and the protoc-gen-validate rules. Returns every problem
 * with its field path (empty when valid); the proxy joins them into a NACK's error_detail.
 */
export function validateMessage(typeName: string, obj: object, path = ''): FieldError[] {
  return collectErrors(typeName, obj, path);
}
