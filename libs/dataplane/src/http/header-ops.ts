/**
 * Request/response header edits (`request_headers_to_add`, `request_headers_to_remove`,
 * `response_headers_to_add`, `response_headers_to_remove`) at route-config, virtual-host, route
 * and weighted-cluster level. Applied least specific first, so the most specific level wins an
 * overwrite (Envoy's `most_specific_header_mutations_wins: true`).
 */
import type { FieldError } from '@tsmesh/core';
import { enumName, wrapped, type Msg } from '../engine/types';

export type HeaderMap = Record<string, string | string[] | number | undefined>;

export interface HeaderAdd {
  key: string;
  value: string;
  action: 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';
}

export interface HeaderOps {
  readonly requestAdd: readonly HeaderAdd[];
  readonly requestRemove: readonly string[];
  readonly responseAdd: readonly HeaderAdd[];
  readonly responseRemove: readonly string[];
  readonly empty: boolean;
}

export const NO_HEADER_OPS: HeaderOps = {
  requestAdd: [],
  requestRemove: [],
  responseAdd: [],
  responseRemove: [],
  empty: true,
};

const ACTIONS = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'];

/** One list of `HeaderValueOption`s (`append` / `append_action`), keys lower-cased. */
export function compileHeaderAdds(list: Msg[] | undefined, path: string, errors: FieldError[]): HeaderAdd[] {
  return (list ?? []).map((h, i) => {
    const key = String(h['header']?.['key'] ?? '').toLowerCase();
    const value = String(h['header']?.['value'] ?? '');
    if (!key) errors.push({ path: `${path}[${i}].header.key`, message: 'header key is required' });
    if (/[\r\n\0]/.test(value))
      errors.push({ path: `${path}[${i}].header.value`, message: 'CR, LF and NUL are not allowed' });
    let action: HeaderAdd['action'];
    if (h['append_action'] !== undefined) {
      const a = enumName(h['append_action'], ACTIONS, 'APPEND_IF_EXISTS_OR_ADD');
      action =
        a === 'ADD_IF_ABSENT'
          ? 'add_if_absent'
          : a === 'OVERWRITE_IF_EXISTS_OR_ADD'
            ? 'overwrite'
            : a === 'OVERWRITE_IF_EXISTS'
              ? 'overwrite_if_exists'
              : 'append';
    } else {
      action = wrapped(h['append'], true) ? 'append' : 'overwrite';
    }
    return { key, value, action };
  });
}

export function compileHeaderOps(m: Msg, path: string, errors: FieldError[]): HeaderOps {
  const p = path ? `${path}.` : '';
  const requestAdd = compileHeaderAdds(m['request_headers_to_add'], `${p}request_headers_to_add`, errors);
  const responseAdd = compileHeaderAdds(m['response_headers_to_add'], `${p}response_headers_to_add`, errors);
  const requestRemove = ((m['request_headers_to_remove'] as string[] | undefined) ?? []).map((s) => s.toLowerCase());
  const responseRemove = ((m['response_headers_to_remove'] as string[] | undefined) ?? []).map((s) => s.toLowerCase());
  const empty = !requestAdd.length && !responseAdd.length && !requestRemove.length && !responseRemove.length;
  return empty ? NO_HEADER_OPS : { requestAdd, requestRemove, responseAdd, responseRemove, empty };
}

export function mergeHeaderOps(outer: HeaderOps, inner: HeaderOps): HeaderOps {
  if (outer.empty) return inner;
  if (inner.empty) return outer;
  return {
    requestAdd: [...outer.requestAdd, ...inner.requestAdd],
    requestRemove: [...outer.requestRemove, ...inner.requestRemove],
    responseAdd: [...outer.responseAdd, ...inner.responseAdd],
    responseRemove: [...outer.responseRemove, ...inner.responseRemove],
    empty: false,
  };
}

export function applyHeaderAdds(headers: HeaderMap, adds: readonly HeaderAdd[]): void {
  for (const a of adds) {
    const cur = headers[a.key];
    switch (a.action) {
      case 'append':
        if (cur === undefined) headers[a.key] = a.value;
        else if (Array.isArray(cur)) headers[a.key] = [...cur, a.value];
        else headers[a.key] = a.key === 'set-cookie' ? [String(cur), a.value] : `${cur},${a.value}`;
        break;
      case 'add_if_absent':
        if (cur === undefined) headers[a.key] = a.value;
        break;
      case 'overwrite':
        headers[a.key] = a.value;
        break;
      case 'overwrite_if_exists':
        if (cur !== undefined) headers[a.key] = a.value;
        break;
    }
  }
}

export function applyRequestOps(headers: HeaderMap, ops: HeaderOps): void {
  if (ops.empty) return;
  for (const k of ops.requestRemove) delete headers[k];
  applyHeaderAdds(headers, ops.requestAdd);
}

export function applyResponseOps(headers: HeaderMap, ops: HeaderOps): void {
  if (ops.empty) return;
  for (const k of ops.responseRemove) delete headers[k];
  applyHeaderAdds(headers, ops.responseAdd);
}
