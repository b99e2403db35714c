import { RE2JS } from 're2js';

/**
 * Compiles `pattern` with RE2 semantics (what Envoy's `safe_regex` accepts);
 * returns the error text, or null when it compiles. Envoy matches the whole
 * string, so callers anchor at match time, not here.
 */
export function re2Problem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^error parsing regexp: /, '');
  }
}

/** A compiled RE2 full-string matcher, built once per config push. */
export function compileRe2(pattern: string): (s: string) => boolean {
  const re = RE2JS.compile(pattern);
  return (s) => re.matches(s);
}
