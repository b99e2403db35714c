/**
 * Type-checks a CEXL expression against an attribute manifest once (config
 * time) and compiles it to closures that run per request. A missing attribute
 * makes evaluation fail with EvalError, unless the left side of `|` supplies
 * the default (Istio semantics).
 */
import type { AttributeValue, Bag } from '../bag';
import { attributesErrors } from '../errors';
import { ISTIO_MANIFEST, type Manifest, type ValueType } from '../manifest';
import { EvalError, equalsFor, FUNCTIONS, toDnsName, toDuration, toEmail, toIp, toTimestamp, toUri } from './functions';
import { parse, type Node } from './parser';

export { EvalError };

type Fn = (bag: Bag) => AttributeValue | undefined;
interface Compiled {
  type: ValueType;
  fn: Fn;
  /** Set when the node is a constant (literals, folded calls). */
  constant?: AttributeValue;
}

export interface CompiledExpression {
  readonly text: string;
  readonly type: ValueType;
  /** Throws EvalError when a needed attribute is missing. */
  evaluate(bag: Bag): AttributeValue;
  /** Attribute names the expression may read. */
  readonly attributes: ReadonlySet<string>;
}

export interface CompileOptions {
  manifest?: Manifest;
  /** The type the result must have (e.g. BOOL for a rule's match). */
  expect?: ValueType;
}

const STRINGISH = new Set<ValueType>(['STRING', 'DNS_NAME', 'EMAIL_ADDRESS', 'URI']);
const CONVERTERS: Partial<Record<ValueType, (s: string) => AttributeValue>> = {
  DURATION: toDuration,
  TIMESTAMP: toTimestamp,
  IP_ADDRESS: toIp,
  DNS_NAME: toDnsName,
  EMAIL_ADDRESS: toEmail,
  URI: toUri,
};

export function compileExpression(text: string, options: CompileOptions = {}): CompiledExpression {
  const manifest = options.manifest ?? ISTIO_MANIFEST;
  const attributes = new Set<string>();
  const typeError = (column: number, why: string) =>
    attributesErrors.error('ATTRIBUTES_ERR_TYPE', { expression: JSON.stringify(text), column, why });

  const constant = (type: ValueType, value: AttributeValue): Compiled => ({ type, fn: () => value, constant: value });

  /** Lets a string literal stand for another type (`response.duration | "0ms"`), and ints for doubles. */
  function coerce(c: Compiled, want: ValueType, column: number): Compiled | null {
    if (c.type === want) return c;
    if (c.constant !== undefined && c.type === 'STRING' && CONVERTERS[want]) {
      try {
        return constant(want, (CONVERTERS[want] as (s: string) => AttributeValue)(c.constant as string));
      } catch (e) {
        throw typeError(column, (e as Error).message);
      }
    }
    if (c.type === 'INT64' && want === 'DOUBLE') return { type: 'DOUBLE', fn: c.fn, constant: c.constant };
    if (STRINGISH.has(c.type) && STRINGISH.has(want) && c.constant !== undefined) return { ...c, type: want };
    return null;
  }

  function mustBe(node: Node, c: Compiled, want: ValueType, what: string): Compiled {
    const ok = coerce(c, want, node.column);
    if (!ok) throw typeError(node.column, `${what} must be ${want}, got ${c.type}`);
    return ok;
  }

  function compile(node: Node, optional: boolean): Compiled {
    switch (node.kind) {
      case 'literal':
        return constant(node.type, node.value);
      case 'attr': {
        const type = manifest.get(node.name);
        if (!type)
          throw attributesErrors.error('ATTRIBUTES_ERR_UNKNOWN_ATTRIBUTE', {
            expression: JSON.stringify(text),
            column: node.column,
            name: node.name,
          });
        attributes.add(node.name);
        const name = node.name;
        if (optional) return { type, fn: (b) => b.get(name) };
        return {
          type,
          fn: (b) => {
            const v = b.get(name);
            if (v === undefined) throw new EvalError(`lookup failed: '${name}'`);
            return v;
          },
        };
      }
      case 'index': {
        const key = mustBe(node.key, compile(node.key, false), 'STRING', 'map key');
        const kf = key.fn;
        if (node.target.kind === 'attr') {
          const target = compile(node.target, true);
          if (target.type !== 'STRING_MAP') throw typeError(node.column, `cannot index ${target.type}`);
          const name = node.target.name;
          if (optional) return { type: 'STRING', fn: (b) => b.mapEntry(name, kf(b) as string) };
          return {
            type: 'STRING',
            fn: (b) => {
              const k = kf(b) as string;
              const v = b.mapEntry(name, k);
              if (v === undefined) throw new EvalError(`lookup failed: '${name}[${JSON.stringify(k)}]'`);
              return v;
            },
          };
        }
        const target = compile(node.target, false);
        if (target.type !== 'STRING_MAP') throw typeError(node.column, `cannot index ${target.type}`);
        const tf = target.fn;
        return wrap(
          {
            type: 'STRING',
            fn: (b) => {
              const m = tf(b) as Record<string, string>;
              const k = kf(b) as string;
              if (!Object.prototype.hasOwnProperty.call(m, k)) throw new EvalError(`lookup failed: key ${k}`);
              return m[k];
            },
          },
          optional,
        );
      }
      case 'not': {
        const o = mustBe(node.operand, compile(node.operand, false), 'BOOL', 'operand of !').fn;
        return wrap({ type: 'BOOL', fn: (b) => !o(b) }, optional);
      }
      case 'binary':
        return binary(node, optional);
      case 'call':
        return call(node, optional);
    }
  }

  function wrap(c: Compiled, optional: boolean): Compiled {
    if (!optional) return c;
    const f = c.fn;
    return {
      type: c.type,
      fn: (b) => {
        try {
          return f(b);
        } catch (e) {
          if (e instanceof EvalError) return undefined;
          throw e;
        }
      },
    };
  }

  function binary(node: Extract<Node, { kind: 'binary' }>, optional: boolean): Compiled {
    if (node.op === '&&' || node.op === '||') {
      const l = mustBe(node.left, compile(node.left, false), 'BOOL', `left operand of ${node.op}`).fn;
      const r = mustBe(node.right, compile(node.right, false), 'BOOL', `right operand of ${node.op}`).fn;
      const fn: Fn =
        node.op === '&&'
          ? (b) => (l(b) as boolean) && (r(b) as boolean)
          : (b) => (l(b) as boolean) || (r(b) as boolean);
      return wrap({ type: 'BOOL', fn }, optional);
    }
    if (node.op === '|') {
      const left = compile(node.left, true);
      let right = compile(node.right, optional);
      const coerced = coerce(right, left.type, node.right.column);
      if (!coerced)
        throw typeError(
          node.right.column,
          `default of \`|\` must have the type of its left side (${left.type}), got ${right.type}`,
        );
      right = coerced;
      const l = left.fn;
      const r = right.fn;
      return { type: left.type, fn: (b) => l(b) ?? r(b) };
    }
    // == and !=
    let left = compile(node.left, false);
    let right = compile(node.right, false);
    if (left.type !== right.type) {
      const r2 = coerce(right, left.type, node.right.column);
      const l2 = r2 ? null : coerce(left, right.type, node.left.column);
      if (r2) right = r2;
      else if (l2) left = l2;
      else throw typeError(node.column, `cannot compare ${left.type} with ${right.type}`);
    }
    const eq = equalsFor(left.type === 'STRING' ? right.type : left.type);
    const l = left.fn;
    const r = right.fn;
    const fn: Fn =
      node.op === '=='
        ? (b) => eq(l(b) as AttributeValue, r(b) as AttributeValue)
        : (b) => !eq(l(b) as AttributeValue, r(b) as AttributeValue);
    return wrap({ type: 'BOOL', fn }, optional);
  }

  function call(node: Extract<Node, { kind: 'call' }>, optional: boolean): Compiled {
    if (node.fn === 'conditional' && !node.target) {
      if (node.args.length !== 3) throw typeError(node.column, 'conditional takes 3 arguments');
      const c = mustBe(node.args[0], compile(node.args[0], false), 'BOOL', 'condition').fn;
      const a = compile(node.args[1], false);
      const b2 = compile(node.args[2], false);
      const bb = coerce(b2, a.type, node.args[2].column);
      if (!bb)
        throw typeError(
          node.args[2].column,
          `both branches of conditional must have one type (${a.type} vs ${b2.type})`,
        );
      const af = a.fn;
      const bf = bb.fn;
      return wrap({ type: a.type, fn: (b) => (c(b) ? af(b) : bf(b)) }, optional);
    }
    const spec = FUNCTIONS[node.fn];
    if (!spec) throw typeError(node.column, `unknown function ${node.fn}`);
    if (!!spec.target !== !!node.target)
      throw typeError(
        node.column,
        spec.target
          ? `${node.fn} is a method: write x.${node.fn}(...)`
          : `${node.fn} is not a method: write ${node.fn}(...)`,
      );
    if (node.args.length !== spec.args.length)
      throw typeError(node.column, `${node.fn} takes ${spec.args.length} argument(s), got ${node.args.length}`);
    const parts: Compiled[] = [];
    if (node.target && spec.target)
      parts.push(mustBe(node.target, compile(node.target, false), spec.target, `receiver of ${node.fn}`));
    node.args.forEach((a, i) =>
      parts.push(mustBe(a, compile(a, false), spec.args[i], `argument ${i + 1} of ${node.fn}`)),
    );
    const impl = spec.impl as (...a: AttributeValue[]) => AttributeValue;
    if (parts.every((p) => p.constant !== undefined)) {
      try {
        return constant(spec.result, impl(...parts.map((p) => p.constant as AttributeValue)));
      } catch (e) {
        if (e instanceof EvalError) throw typeError(node.column, e.message);
        throw typeError(node.column, `${node.fn}: ${(e as Error).message}`);
      }
    }
    const fns = parts.map((p) => p.fn);
    let fn: Fn;
    if (fns.length === 0) fn = () => impl();
    else if (fns.length === 1) {
      const [f0] = fns;
      fn = (b) => impl(f0(b) as AttributeValue);
    } else if (fns.length === 2) {
      const [f0, f1] = fns;
      fn = (b) => impl(f0(b) as AttributeValue, f1(b) as AttributeValue);
    } else fn = (b) => impl(...fns.map((f) => f(b) as AttributeValue));
    return wrap({ type: spec.result, fn }, optional);
  }

  const root = compile(parse(text), false);
  let result = root;
  if (options.expect) {
    const c = coerce(root, options.expect, 1);
    if (!c) throw typeError(1, `expression must be ${options.expect}, got ${root.type}`);
    result = c;
  }
  const fn = result.fn;
  return {
    text,
    type: result.type,
    attributes,
    evaluate: (bag) => {
      const v = fn(bag);
      if (v === undefined) throw new EvalError(`expression ${text} produced no value`);
      return v;
    },
  };
}

/** Checks an expression without keeping it; returns the error or null. */
export function checkExpression(text: string, options: CompileOptions = {}): Error | null {
  try {
    compileExpression(text, options);
    return null;
  } catch (e) {
    return e as Error;
  }
}
