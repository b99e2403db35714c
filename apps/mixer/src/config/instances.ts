/**
 * Compiles instance params (a template's fields written as expressions) once
 * per config change into a builder that runs per request.
 */
import {
  compileExpression,
  ReportBag,
  type AttributeValue,
  type Bag,
  type CompiledExpression,
  type Manifest,
  type ValueType,
} from '@tsmesh/attributes';
import type { FieldError } from '@tsmesh/core';
import type { Instance } from '../runtime/types';
import { snakeCase, type TemplateInfo } from '../templates/templates';
import { isObj } from './loader';

export interface CompiledInstance {
  fqn: string;
  template: TemplateInfo;
  /**
   * Throws EvalError when a needed attribute is missing. `kept` (the config's, see KeptValues;
   * `begin(bag)` called first): values worked out for this bag or, along a delta-encoded Report,
   * for the entries before it are reused while the attributes they read are unchanged, so
   * instances reading the same fields alike (the standard metrics' dimensions) get the same object.
   */
  build(bag: Bag, kept?: KeptValues): Instance;
}

type FieldValue = AttributeValue | Record<string, AttributeValue>;
/** `keep`: the config's KeptValues has begun on `bag`, so kept values may stand in. */
type FieldBuilder = (bag: Bag, keep: boolean) => FieldValue;

/** Map-field builders of one config by what they evaluate (`compileInstance`'s `shared`). */
export type SharedBuilders = Map<string, FieldBuilder>;

/** A value kept for the current bag: valid while `gen` is its KeptValues' `gen`. */
export interface Cell {
  gen: number;
  value: unknown;
}

/**
 * The values of one config's instance fields (each expression, and each map as a whole) kept
 * from the last bag they were worked out for. A delta-encoded Report entry (ReportBag with `prev`)
 * holds the same values as the entry before it except for the names it `changed`, and CEXL
 * expressions (functions included) depend on the attributes they read only: so for such an entry
 * only the values reading a changed name are dropped, and the rest (most of them: the metric
 * dimensions, the access log's variables but the request's own) are reused, the same objects,
 * which also lets the adapters keep what they made of them (label keys, JSON texts). Any other
 * bag drops them all. One per config (instances from one compile).
 */
export class KeptValues {
  /** Bumped to drop every kept value; 0 never matches. */
  gen = 1;
  private readonly byName = new Map<string, Cell[]>();
  private readonly byText = new Map<string, Cell>();
  private last: Bag | null = null;
  /** byName's cells per slot of the Report being read (ReportBag.slotNames), each looked up once. */
  private slotNames: readonly string[] | null = null;
  private slotCells: Array<Cell[] | null> = [];

  cell(attributes: Iterable<string>): Cell {
    const c: Cell = { gen: 0, value: undefined };
    for (const n of attributes) {
      const cells = this.byName.get(n);
      if (cells) cells.push(c);
      else this.byName.set(n, [c]);
    }
    return c;
  }

  /**
   * The cell of expression `c`'s value: one per expression text, so fields written alike in
   * several instances (the access log's latency and requestduration's value) evaluate it once.
   */
  exprCell(c: CompiledExpression): Cell {
    let cell = this.byText.get(c.text);
    if (cell === undefined) {
      cell = this.cell(c.attributes);
      this.byText.set(c.text, cell);
    }
    return cell;
  }

  /** Before the instances of `bag` are built with this. */
  begin(bag: Bag): void {
    if (bag instanceof ReportBag && bag.prev !== null && bag.prev === this.last) {
      const names = bag.slotNames;
      if (names !== this.slotNames) {
        this.slotNames = names;
        this.slotCells = [];
      }
      const changed = bag.changedSlots;
      for (let k = 0; k < changed.length; k++) {
        const slot = changed[k];
        let cells = this.slotCells[slot];
        if (cells === undefined) cells = this.slotCells[slot] = this.byName.get(names[slot]) ?? null;
        if (cells !== null) for (let i = 0; i < cells.length; i++) cells[i].gen = 0;
      }
    } else this.gen++;
    this.last = bag;
  }

  /** After a batch: nothing is kept for it (nor the batch kept alive through `last`). */
  end(): void {
    this.last = null;
    this.slotNames = null;
    this.slotCells = [];
    this.gen++;
  }

  /** `cell`'s value for the current bag, evaluated when not kept. */
  value(cell: Cell, c: CompiledExpression, bag: Bag): AttributeValue {
    if (cell.gen === this.gen) return cell.value as AttributeValue;
    const v = c.evaluate(bag);
    cell.value = v;
    cell.gen = this.gen;
    return v;
  }

  /**
   * `cell`'s value for the current bag, `compute(bag)` when not kept: for what the runtime works
   * out from the cell's attributes alone (a rule's match, the destination namespace). A throw keeps
   * nothing, so the next bag computes (and throws) again.
   */
  computed<T>(cell: Cell, compute: (bag: Bag) => T, bag: Bag): T {
    if (cell.gen === this.gen) return cell.value as T;
    const v = compute(bag);
    cell.value = v;
    cell.gen = this.gen;
    return v;
  }
}

function exprText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/**
 * The builder of a map field: the names are known per config, so the map is made by a
 * constructor written for them (each name a constant store, every map of this field the same
 * shape) instead of one keyed property add per name and request. Same keys in the same order as
 * adding them one by one; names an object literal could not take as own data keys
 * (`__proto__`) keep the keyed adds. With `kept`, the map and each of its values are kept
 * (KeptValues): a map whose attributes are unchanged is the same object as before.
 */
function mapBuilder(entries: ReadonlyArray<[string, CompiledExpression]>, kept?: KeptValues): FieldBuilder {
  const evals = entries.map(([, c]) => c);
  if (entries.some(([k]) => k === '__proto__') || entries.length > 1000) {
    return (bag) => {
      const out: Record<string, AttributeValue> = {};
      for (const [k, c] of entries) out[k] = c.evaluate(bag);
      return out;
    };
  }
  // keys are quoted with JSON.stringify (a JS string literal), values come from the compiled expressions
  const body = entries.map(([k], i) => `this[${JSON.stringify(k)}] = e[${i}].evaluate(bag);`).join('\n');
  const Shape = new Function('e', 'bag', body) as unknown as new (
    e: readonly CompiledExpression[],
    bag: Bag,
  ) => Record<string, AttributeValue>;
  // plain objects, as `{}` would be (tests and adapters compare and serialise them)
  Shape.prototype = Object.prototype;
  if (!kept) return (bag) => new Shape(evals, bag);
  const cells = entries.map(([, c]) => kept.exprCell(c));
  const whole = kept.cell(entries.flatMap(([, c]) => [...c.attributes]));
  const keptBody = entries
    .map(([k], i) => `this[${JSON.stringify(k)}] = kept.value(cells[${i}], e[${i}], bag);`)
    .join('\n');
  const KeptShape = new Function('e', 'cells', 'kept', 'bag', keptBody) as unknown as new (
    e: readonly CompiledExpression[],
    cells: readonly Cell[],
    kept: KeptValues,
    bag: Bag,
  ) => Record<string, AttributeValue>;
  KeptShape.prototype = Object.prototype;
  return (bag, keep) => {
    if (!keep) return new Shape(evals, bag);
    if (whole.gen === kept.gen) return whole.value as Record<string, AttributeValue>;
    const v = new KeptShape(evals, cells, kept, bag);
    whole.value = v;
    whole.gen = kept.gen;
    return v;
  };
}

export function compileInstance(
  fqn: string,
  template: TemplateInfo,
  params: Record<string, unknown>,
  manifest: Manifest,
  pathPrefix: string,
  errors: FieldError[],
  shared?: SharedBuilders,
  kept?: KeptValues,
): CompiledInstance {
  const builders: Array<[string, FieldBuilder]> = [];
  const types: Record<string, ValueType> = {};
  const compileOne = (text: string, path: string): CompiledExpression | null => {
    try {
      return compileExpression(text, { manifest });
    } catch (e) {
      errors.push({ path, message: (e as Error).message });
      return null;
    }
  };
  const seen = new Set<string>();
  for (const [rawKey, value] of Object.entries(params)) {
    const key = snakeCase(rawKey);
    const path = `${pathPrefix}.${rawKey}`;
    const kind = template.fields[key];
    if (!kind) {
      errors.push({ path, message: `unknown field for template ${template.name}` });
      continue;
    }
    seen.add(key);
    if (kind === 'map') {
      if (!isObj(value)) {
        errors.push({ path, message: 'must be a map of name: expression' });
        continue;
      }
      const entries: Array<[string, CompiledExpression]> = [];
      for (const [k, v] of Object.entries(value)) {
        const text = exprText(v);
        if (text === null) {
          errors.push({ path: `${path}.${k}`, message: 'must be an expression (string)' });
          continue;
        }
        const c = compileOne(text, `${path}.${k}`);
        if (c) {
          entries.push([k, c]);
          types[`${key}.${k}`] = c.type;
        }
      }
      const signature = JSON.stringify(entries.map(([k, c]) => [k, c.text]));
      const known = shared?.get(signature);
      if (known) {
        builders.push([key, known]);
        continue;
      }
      const builder = mapBuilder(entries, kept);
      shared?.set(signature, builder);
      builders.push([key, builder]);
      continue;
    }
    const text = exprText(value);
    if (text === null) {
      errors.push({ path, message: 'must be an expression (string)' });
      continue;
    }
    const c = compileOne(text, path);
    if (c) {
      const cell = kept?.exprCell(c);
      builders.push([
        key,
        cell && kept ? (bag, keep) => (keep ? kept.value(cell, c, bag) : c.evaluate(bag)) : (bag) => c.evaluate(bag),
      ]);
      types[key] = c.type;
    }
  }
  for (const r of template.required ?? []) {
    if (!seen.has(r)) errors.push({ path: `${pathPrefix}.${r}`, message: `required by template ${template.name}` });
  }
  const Fields = fieldsShape(builders.map(([k]) => k));
  const fieldBuilders = builders.map(([, b]) => b);
  return {
    fqn,
    template,
    build(bag, keptBy) {
      // values are kept only in the KeptValues these builders were compiled with
      const keep = keptBy !== undefined && keptBy === kept;
      return { name: fqn, template: template.name, fields: new Fields(fieldBuilders, bag, keep), types };
    },
  };
}

type FieldsCtor = new (b: readonly FieldBuilder[], bag: Bag, keep: boolean) => Instance['fields'];
/** Per list of field names: instances with the same fields (the standard metrics) build one shape. */
const fieldShapes = new Map<string, FieldsCtor>();

/**
 * A constructor for an instance's `fields` (as mapBuilder makes the map fields): the names are
 * template fields, so few and known per config, and every instance of one template builds objects
 * of one shape the adapters read without a keyed lookup each. Same keys in the same order as
 * adding them one by one (a name given twice keeps its first place and the last value).
 */
function fieldsShape(keys: readonly string[]): FieldsCtor {
  const id = JSON.stringify(keys);
  let Ctor = fieldShapes.get(id);
  if (Ctor === undefined) {
    // keys are quoted with JSON.stringify (a JS string literal); template field names are never __proto__
    const body = keys.map((k, i) => `this[${JSON.stringify(k)}] = b[${i}](bag, keep);`).join('\n');
    Ctor = new Function('b', 'bag', 'keep', body) as unknown as FieldsCtor;
    Ctor.prototype = Object.prototype;
    if (fieldShapes.size < 1000) fieldShapes.set(id, Ctor);
  }
  return Ctor;
}
