/** Tokens of CEXL, Istio's expression language (a subset of Go expression syntax). */
import { attributesErrors } from '../errors';

export type TokenKind = 'ident' | 'string' | 'int' | 'float' | 'op' | 'eof';
export interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based column in the expression. */
  column: number;
  value?: string | number;
}

const OPS = ['==', '!=', '&&', '||', '|', '!', '(', ')', '[', ']', ',', '.'];

export function syntaxError(expression: string, column: number, why: string) {
  return attributesErrors.error('ATTRIBUTES_ERR_SYNTAX', { expression: JSON.stringify(expression), column, why });
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const column = i + 1;
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_$]/.test(src[j])) j++;
      out.push({ kind: 'ident', text: src.slice(i, j), column });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i;
      while (j < src.length && /[0-9]/.test(src[j])) j++;
      let kind: TokenKind = 'int';
      if (src[j] === '.' && /[0-9]/.test(src[j + 1] ?? '')) {
        kind = 'float';
        j++;
        while (j < src.length && /[0-9]/.test(src[j])) j++;
      }
      const text = src.slice(i, j);
      out.push({ kind, text, column, value: Number(text) });
      i = j;
      continue;
    }
    if (c === '"' || c === '`' || c === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= src.length) throw syntaxError(src, column, 'string literal not terminated');
        const d = src[j];
        if (d === c) break;
        if (d === '\\' && c !== '`') {
          const e = src[j + 1];
          if (e === undefined || !(e in ESCAPES)) throw syntaxError(src, j + 1, `unknown escape sequence \\${e ?? ''}`);
          value += ESCAPES[e];
          j += 2;
          continue;
        }
        value += d;
        j++;
      }
      out.push({ kind: 'string', text: src.slice(i, j + 1), column, value });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw syntaxError(src, column, `unexpected character ${JSON.stringify(c)}`);
    out.push({ kind: 'op', text: op, column });
    i += op.length;
  }
  out.push({ kind: 'eof', text: '', column: src.length + 1 });
  return out;
}
