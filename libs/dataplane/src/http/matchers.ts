/**
 * Envoy matchers compiled once per config push: StringMatcher (`exact`, `prefix`, `suffix`,
 * `contains`, `safe_regex` with RE2 semantics via re2js, `ignore_case`), route HeaderMatcher
 * (incl. the deprecated `exact_match`/`prefix_match`/… forms, `present_match`, `range_match`,
 * `invert_match`) and QueryParameterMatcher. Exported for RBAC/JWT filters.
 */
import type { FieldError } from '@tsmesh/core';
import type { RE2JS } from 're2js';
import type { Msg } from '../engine/types';

export type StringPredicate = (value: string) => boolean;

/** Compiles an RE2 regex; a bad pattern adds a field error and yields a never-matching predicate. */
export function compileRegex(pattern: unknown, path: string, errors: FieldError[]): RE2JS | null {
  if (typeof pattern !== 'string') {
    errors.push({ path, message: 'regex must be a string' });
    return null;
  }
  try {
    // re2js is loaded on the first regex (most sidecars have none; about 0.9 MB of heap, issue #4).
    return (require('re2js') as typeof import('re2js')).RE2JS.compile(pattern);
  } catch (e) {
    errors.push({ path, message: `invalid RE2 regex: ${(e as Error).message}` });
    return null;
  }
}

/** envoy.type.matcher.v3.StringMatcher */
export function compileStringMatcher(m: Msg | undefined, path: string, errors: FieldError[]): StringPredicate {
  if (!m) {
    errors.push({ path, message: 'string matcher is required' });
    return () => false;
  }
  const ic = m['ignore_case'] === true;
  const norm = ic ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (typeof m['exact'] === 'string') {
    const want = norm(m['exact']);
    return ic ? (v) => v.toLowerCase() === want : (v) => v === want;
  }
  if (typeof m['prefix'] === 'string') {
    const want = norm(m['prefix']);
    return (v) => norm(v).startsWith(want);
  }
  if (typeof m['suffix'] === 'string') {
    const want = norm(m['suffix']);
    return (v) => norm(v).endsWith(want);
  }
  if (typeof m['contains'] === 'string') {
    const want = norm(m['contains']);
    return (v) => norm(v).includes(want);
  }
  if (m['safe_regex']) {
    const re = compileRegex(m['safe_regex']['regex'], `${path}.safe_regex.regex`, errors);
    return re ? (v) => re.matches(v) : () => false;
  }
  errors.push({ path, message: 'string matcher needs one of exact, prefix, suffix, contains, safe_regex' });
  return () => false;
}

/** Request header view the matchers read: lower-case names, pseudo-headers included. */
export type HeaderGetter = (name: string) => string | undefined;

/** envoy.config.route.v3.HeaderMatcher */
export function compileHeaderMatcher(m: Msg, path: string, errors: FieldError[]): (get: HeaderGetter) => boolean {
  const name = String(m['name'] ?? '').toLowerCase();
  if (!name) errors.push({ path: `${path}.name`, message: 'header name is required' });
  const invert = m['invert_match'] === true;
  let test: (v: string | undefined) => boolean;
  if (m['string_match']) {
    const p = compileStringMatcher(m['string_match'], `${path}.string_match`, errors);
    test = (v) => v !== undefined && p(v);
  } else if (typeof m['exact_match'] === 'string') {
    const want = m['exact_match'];
    test = (v) => v === want;
  } else if (m['safe_regex_match']) {
    const re = compileRegex(m['safe_regex_match']['regex'], `${path}.safe_regex_match.regex`, errors);
    test = (v) => v !== undefined && re !== null && re.matches(v);
  } else if (typeof m['prefix_match'] === 'string') {
    const want = m['prefix_match'];
    test = (v) => v !== undefined && v.startsWith(want);
  } else if (typeof m['suffix_match'] === 'string') {
    const want = m['suffix_match'];
    test = (v) => v !== undefined && v.endsWith(want);
  } else if (typeof m['contains_match'] === 'string') {
    const want = m['contains_match'];
    test = (v) => v !== undefined && v.includes(want);
  } else if (m['range_match']) {
    const start = Number(m['range_match']['start']);
    const end = Number(m['range_match']['end']);
    test = (v) => {
      if (v === undefined || !/^-?\d+$/.test(v)) return false;
      const n = Number(v);
      return n >= start && n < end;
    };
  } else if (m['present_match'] !== undefined) {
    const want = m['present_match'] !== false;
    test = (v) => (v !== undefined) === want;
  } else {
    // No match specifier: header presence (Envoy's behaviour).
    test = (v) => v !== undefined;
  }
  return invert ? (get) => !test(get(name)) : (get) => test(get(name));
}

/** envoy.config.route.v3.QueryParameterMatcher */
export function compileQueryMatcher(
  m: Msg,
  path: string,
  errors: FieldError[],
): (query: URLSearchParams | null) => boolean {
  const name = String(m['name'] ?? '');
  if (!name) errors.push({ path: `${path}.name`, message: 'query parameter name is required' });
  if (m['string_match']) {
    const p = compileStringMatcher(m['string_match'], `${path}.string_match`, errors);
    return (q) => {
      const v = q?.get(name);
      return v !== null && v !== undefined && p(v);
    };
  }
  return (q) => q !== null && q.has(name);
}
