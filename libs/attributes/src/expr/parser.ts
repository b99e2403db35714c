/**
 * CEXL parser. Precedence follows Go: `||` < `&&` < `==` `!=` < `|` < unary `!`
 * < postfix (`[key]`, `.method(args)`). A dotted chain of identifiers is one
 * attribute name (`destination.service.host`); a chain ending in a call is a
 * method on the rest (`request.path.startsWith("/api")`).
 */
import { syntaxError, tokenize, type Token } from './lexer';

export type Node =
  | { kind: 'literal'; column: number; type: 'STRING' | 'INT64' | 'DOUBLE' | 'BOOL'; value: string | number | boolean }
  | { kind: 'attr'; column: number; name: string }
  | { kind: 'index'; column: number; target: Node; key: Node }
  | { kind: 'call'; column: number; fn: string; target?: Node; args: Node[] }
  | { kind: 'not'; column: number; operand: Node }
  | { kind: 'binary'; column: number; op: '==' | '!=' | '&&' | '||' | '|'; left: Node; right: Node };

const PRECEDENCE: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '|': 4 };

export function parse(src: string): Node {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const isOp = (t: Token, text: string) => t.kind === 'op' && t.text === text;
  const expect = (text: string) => {
    const t = next();
    if (!isOp(t, text)) throw syntaxError(src, t.column, `expected ${JSON.stringify(text)}, found ${describe(t)}`);
    return t;
  };

  function describe(t: Token): string {
    return t.kind === 'eof' ? 'end of expression' : JSON.stringify(t.text);
  }

  function args(): Node[] {
    const out: Node[] = [];
    if (isOp(peek(), ')')) {
      next();
      return out;
    }
    for (;;) {
      out.push(binary(0));
      const t = next();
      if (isOp(t, ')')) return out;
      if (!isOp(t, ',')) throw syntaxError(src, t.column, `expected "," or ")", found ${describe(t)}`);
    }
  }

  function primary(): Node {
    const t = next();
    switch (t.kind) {
      case 'string':
        return { kind: 'literal', column: t.column, type: 'STRING', value: t.value as string };
      case 'int':
        return { kind: 'literal', column: t.column, type: 'INT64', value: t.value as number };
      case 'float':
        return { kind: 'literal', column: t.column, type: 'DOUBLE', value: t.value as number };
      case 'ident': {
        if (t.text === 'true' || t.text === 'false')
          return { kind: 'literal', column: t.column, type: 'BOOL', value: t.text === 'true' };
        if (isOp(peek(), '(')) {
          next();
          return { kind: 'call', column: t.column, fn: t.text, args: args() };
        }
        return { kind: 'attr', column: t.column, name: t.text };
      }
      case 'op':
        if (t.text === '(') {
          const inner = binary(0);
          expect(')');
          return inner;
        }
        break;
      default:
        break;
    }
    throw syntaxError(src, t.column, `unexpected ${describe(t)}`);
  }

  function postfix(node: Node): Node {
    for (;;) {
      const t = peek();
      if (isOp(t, '[')) {
        next();
        const key = binary(0);
        expect(']');
        node = { kind: 'index', column: t.column, target: node, key };
        continue;
      }
      if (isOp(t, '.')) {
        next();
        const id = next();
        if (id.kind !== 'ident') throw syntaxError(src, id.column, `expected a name after ".", found ${describe(id)}`);
        if (isOp(peek(), '(')) {
          next();
          node = { kind: 'call', column: id.column, fn: id.text, target: node, args: args() };
          continue;
        }
        if (node.kind !== 'attr')
          throw syntaxError(src, id.column, `unexpected ".${id.text}": only attribute names are dotted`);
        node = { kind: 'attr', column: node.column, name: `${node.name}.${id.text}` };
        continue;
      }
      return node;
    }
  }

  function unary(): Node {
    const t = peek();
    if (isOp(t, '!')) {
      next();
      return { kind: 'not', column: t.column, operand: unary() };
    }
    return postfix(primary());
  }

  function binary(minPrec: number): Node {
    let left = unary();
    for (;;) {
      const t = peek();
      const prec = t.kind === 'op' ? PRECEDENCE[t.text] : undefined;
      if (prec === undefined || prec <= minPrec) return left;
      next();
      const right = binary(prec);
      left = { kind: 'binary', column: t.column, op: t.text as '==', left, right };
    }
  }

  if (peek().kind === 'eof') throw syntaxError(src, 1, 'empty expression');
  const root = binary(0);
  const rest = peek();
  if (rest.kind !== 'eof') throw syntaxError(src, rest.column, `unexpected ${describe(rest)}`);
  return root;
}
