/**
 * `stdio` adapter (Istio 1.0 `mixer/adapter/stdio`): logentry (and metric)
 * instances as JSON lines on stdout, stderr or a file (`outputPath`).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { valueText, type AttributeValue } from '@tsmesh/attributes';
import { ParamReader } from '../params';
import type { AdapterInfo, Instance } from '../../runtime/types';

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const logStream = r.enumOf('logStream', ['STDOUT', 'STDERR', 'FILE', 'ROTATED_FILE'] as const, 'STDOUT');
  const outputPath = r.string('outputPath');
  if ((logStream === 'FILE' || logStream === 'ROTATED_FILE') && !outputPath)
    r.errors.push({ path: 'outputPath', message: `required when logStream is ${logStream}` });
  const outputAsJson = r.bool('outputAsJson', true);
  const severityLevels = r.map('severityLevels');
  const outputLevel = r.enumOf('outputLevel', ['INFO', 'WARNING', 'ERROR'] as const, 'INFO');
  return { r, logStream, outputPath, outputAsJson, severityLevels, outputLevel };
}

const LEVELS = { INFO: 0, WARNING: 1, ERROR: 2 } as const;

function jsonValue(v: AttributeValue, type?: string): unknown {
  if (type === 'DURATION' && typeof v === 'number') return `${v}ms`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return valueText(v);
  return v;
}

const RESERVED = new Set(['level', 'time', 'instance', 'value']);

interface KeyText {
  /** `,"key":` */
  quoted: string;
  /** The key's entry in Instance.types, per field. */
  variables: string;
  dimensions: string;
  /** A fixed key's name, or an integer-like one (JS objects put those first): written by JSON.stringify. */
  special: boolean;
  /** The last value seen under this name and its text: consecutive entries mostly repeat them. */
  last: unknown;
  lastType: string | undefined;
  lastText: string | undefined;
}

/** Per variable name, worked out once (names come from config, so the set is small). */
const keyTexts = new Map<string, KeyText>();
function keyText(k: string): KeyText {
  let t = keyTexts.get(k);
  if (t === undefined) {
    t = {
      quoted: `,${JSON.stringify(k)}:`,
      variables: `variables.${k}`,
      dimensions: `dimensions.${k}`,
      special: RESERVED.has(k) || String(Number(k) >>> 0) === k,
      last: undefined,
      lastType: undefined,
      lastText: undefined,
    };
    if (keyTexts.size < 10_000) keyTexts.set(k, t);
  }
  return t;
}

/**
 * A string JSON.stringify writes as itself in quotes: printable ASCII without `"` and `\\` (most
 * values: ids, paths, names). One look at its characters instead of a call into JSON.stringify
 * and another over its text for isAsciiText.
 */
function plainString(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** JSON text of what `jsonValue` gives, without building the object first; undefined → left out. */
function jsonText(v: AttributeValue, type?: string): string | undefined {
  switch (typeof v) {
    case 'string':
      return plainString(v) ? `"${v}"` : JSON.stringify(v);
    case 'number':
      if (type === 'DURATION') return `"${v}ms"`;
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return undefined;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'null' : `"${v.toISOString()}"`;
  if (v instanceof Uint8Array) return JSON.stringify(valueText(v));
  return JSON.stringify(v);
}

/** Years 0000–9999: toISOString writes `YYYY-MM-DDTHH:MM:SS.mmmZ` (other years take a sign and 6 digits). */
const ISO_MAX_MS = 253_402_300_800_000;
const MS_TEXT = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z"`);
/** `"2018-07-31T10:00:00.` of the last second formatted, and the last time's whole text. */
let isoSecond = NaN;
let isoSecondText = '';
let isoLastMs = NaN;
let isoLastText = '';

/** JSON text of an entry's time (`"…Z"`): the text up to the second is made once per second. */
function timeText(now: Date): string {
  const ms = now.getTime();
  if (ms === isoLastMs) return isoLastText;
  if (!(ms >= 0 && ms < ISO_MAX_MS)) return jsonText(now) as string;
  const frac = ms % 1000;
  const second = ms - frac;
  if (second !== isoSecond) {
    isoSecondText = `"${now.toISOString().slice(0, 20)}`;
    isoSecond = second;
  }
  isoLastMs = ms;
  return (isoLastText = isoSecondText + MS_TEXT[frac]);
}

/** `{"level":"info","time":` and `,"instance":"…"` texts, by level and by instance name. */
const heads = new Map<string, string>();
function head(kind: 'level' | 'instance', v: string): string {
  const key = `${kind}\u0000${v}`;
  let h = heads.get(key);
  if (h === undefined) {
    h = kind === 'level' ? `{"level":${JSON.stringify(v.toLowerCase())},"time":` : `,"instance":${JSON.stringify(v)}`;
    if (heads.size < 10_000) heads.set(key, h);
  }
  return h;
}

/** head('level', …) without building the lookup key per entry. */
const levelHeads = new Map<string, string>();
function levelHead(level: string): string {
  let h = levelHeads.get(level);
  if (h === undefined) {
    h = head('level', level);
    if (levelHeads.size < 1000) levelHeads.set(level, h);
  }
  return h;
}

/** Variables per kept text in a line (Layout.groupText). */
const GROUP = 4;

const NON_ASCII = /[\u0080-\uffff]/;
/** All ASCII: its latin1 bytes are its UTF-8 bytes. */
const isAscii = (s: string) => !NON_ASCII.test(s);

/**
 * isAscii for the short JSON texts of values made per entry: a loop over the characters of the
 * text itself. The regular expression was run on `,"key":` + text, a string made by `+` that it
 * flattens first (a copy per changed value), plus a call into the regexp engine (5 % of an entry
 * in a profile); the keys' texts are checked once per layout instead.
 */
function isAsciiText(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * What one instance's lines look like, worked out from its first entry and kept per `types`
 * object (one per compiled instance, so the variables come in the same order each time): per
 * position the name, its key text and value type, and the last value and its `,"key":value` text
 * ('' when left out); per group of GROUP positions the text of the group, until one changes.
 */
interface Layout {
  field: 'variables' | 'dimensions';
  name: string;
  instanceHead: string;
  names: string[];
  quoted: string[];
  quotedAscii: boolean[];
  types: Array<string | undefined>;
  last: unknown[];
  lastText: string[];
  lastAscii: boolean[];
  groupText: string[];
  groupAscii: boolean[];
  stale: boolean[];
  /** groupText[g] is one flat string (joined), not a tree of its pieces (made by `+`). */
  flat: boolean[];
  /** instanceHead is ASCII. */
  headAscii: boolean;
  /** The last line layoutLine made is ASCII but for its level (writeLine's levels are). */
  lineAscii: boolean;
}
const layouts = new WeakMap<object, Layout>();
function layoutOf(
  inst: Instance,
  field: 'variables' | 'dimensions',
  vars: Record<string, AttributeValue>,
): Layout | null {
  let l = layouts.get(inst.types);
  if (l === undefined || l.field !== field || l.name !== inst.name) {
    const names: string[] = [];
    for (const k in vars) {
      if (keyText(k).special) return null;
      names.push(k);
    }
    l = {
      field,
      name: inst.name,
      instanceHead: head('instance', inst.name),
      names,
      quoted: names.map((k) => keyText(k).quoted),
      quotedAscii: names.map((k) => isAscii(keyText(k).quoted)),
      types: names.map((k) => inst.types[keyText(k)[field]]),
      last: names.map(() => undefined),
      lastText: names.map(() => ''),
      lastAscii: names.map(() => true),
      groupText: Array.from({ length: Math.ceil(names.length / GROUP) }, () => ''),
      groupAscii: Array.from({ length: Math.ceil(names.length / GROUP) }, () => true),
      stale: Array.from({ length: Math.ceil(names.length / GROUP) }, () => true),
      flat: Array.from({ length: Math.ceil(names.length / GROUP) }, () => false),
      headAscii: isAscii(head('instance', inst.name)),
      lineAscii: false,
    };
    layouts.set(inst.types, l);
  }
  return l;
}

/**
 * The JSON line of an entry (without the newline); undefined when a variable is named like a
 * fixed key or like an integer, which only JSON.stringify orders as before. Values unchanged since
 * the instance's last line (the same value object: attribute values are never changed in place,
 * and Mixer keeps the values of unchanged attributes) reuse their text, and groups of them the
 * text of the group: a line is a few pieces, not one or two per variable (the per-piece cost of
 * building and joining the texts was most of the access log's).
 */
function jsonLine(inst: Instance, level: string, now: Date): string | undefined {
  const field = inst.fields['variables'] !== undefined ? 'variables' : 'dimensions';
  const vars = (inst.fields[field] ?? {}) as Record<string, AttributeValue>;
  const l = layoutOf(inst, field, vars);
  if (l === null) return undefined;
  return updateLayout(l, vars) ? layoutLine(l, inst, level, now) : slowLine(inst, level, now);
}

/** The line of an entry whose variables are in `l` (updateLayout); sets l.lineAscii. */
function layoutLine(l: Layout, inst: Instance, level: string, now: Date): string {
  const { groupText, groupAscii, stale, flat } = l;
  let ascii = l.headAscii;
  let line = levelHead(level) + timeText(now) + l.instanceHead;
  for (let g = 0; g < groupText.length; g++) {
    if (stale[g]) rebuildGroup(l, g);
    else if (!flat[g]) flattenGroup(l, g);
    line += groupText[g];
    ascii &&= groupAscii[g];
  }
  if (inst.template === 'metric' && inst.fields['value'] !== undefined) {
    const t = jsonText(inst.fields['value'] as AttributeValue, inst.types['value']);
    if (t !== undefined) {
      line += ',"value":' + t;
      ascii &&= isAsciiText(t);
    }
  }
  l.lineAscii = ascii;
  return line + '}';
}

/**
 * Takes an entry's variables into its layout: the text of each value that changed (a new value
 * object) and which groups must be made again. False when they are not the layout's names in its
 * order (not one of the config's builders): the line is then made another way.
 */
function updateLayout(l: Layout, vars: Record<string, AttributeValue>): boolean {
  const { names, quoted, quotedAscii, types, last, lastText, lastAscii, stale } = l;
  let i = 0;
  for (const k in vars) {
    if (names[i] !== k) return false;
    const v = vars[k];
    if (v !== last[i]) {
      last[i] = v;
      // plain strings and numbers (jsonText's fast cases) are ASCII without a look at their text
      if (typeof v === 'string' && plainString(v)) {
        lastText[i] = `${quoted[i]}"${v}"`;
        lastAscii[i] = quotedAscii[i];
      } else {
        const t = jsonText(v, types[i]);
        lastText[i] = t === undefined ? '' : quoted[i] + t;
        lastAscii[i] = t === undefined || (quotedAscii[i] && (typeof v === 'number' || isAsciiText(t)));
      }
      stale[(i / GROUP) | 0] = true;
    }
    i++;
  }
  return i === names.length;
}

/**
 * Makes group `g`'s text again from its values' texts, by `+`: a group with a value that changes
 * on every line (the request's id, its latency) is made for one line only.
 */
function rebuildGroup(l: Layout, g: number): void {
  const { names, lastText, lastAscii } = l;
  let t = '';
  let a = true;
  for (let j = g * GROUP, end = Math.min(names.length, j + GROUP); j < end; j++) {
    t += lastText[j];
    a &&= lastAscii[j];
  }
  l.groupText[g] = t;
  l.groupAscii[g] = a;
  l.stale[g] = false;
  l.flat[g] = false;
}

/**
 * Group `g`'s text as one flat string, once a line reuses it: otherwise writing each batch walks
 * the tree of its pieces again for every line that has it.
 */
function flattenGroup(l: Layout, g: number): void {
  const start = g * GROUP;
  l.groupText[g] = l.lastText.slice(start, Math.min(l.names.length, start + GROUP)).join('');
  l.flat[g] = true;
}

/**
 * jsonLine added to `out`; false (nothing added) when jsonLine would not make the line from the
 * layout: the caller then adds formatEntry's.
 */
function writeLine(out: LineBuffer, inst: Instance, level: keyof typeof LEVELS, now: Date): boolean {
  const field = inst.fields['variables'] !== undefined ? 'variables' : 'dimensions';
  const vars = (inst.fields[field] ?? {}) as Record<string, AttributeValue>;
  const l = layoutOf(inst, field, vars);
  if (l === null || !updateLayout(l, vars)) return false;
  const line = layoutLine(l, inst, level, now);
  out.add(line, l.lineAscii);
  return true;
}

/** jsonLine for an entry whose variables differ from its instance's layout (not from the config's builder). */
function slowLine(inst: Instance, level: string, now: Date): string | undefined {
  const parts: string[] = [];
  return appendJson(parts, inst, level, now) ? parts.join('') : undefined;
}

/**
 * Appends the JSON line of an entry (without the newline) to `parts` as pieces; false (nothing
 * appended) when a variable is named like a fixed key or like an integer, which only
 * JSON.stringify orders as before.
 */
function appendJson(parts: string[], inst: Instance, level: string, now: Date): boolean {
  const field = inst.fields['variables'] !== undefined ? 'variables' : 'dimensions';
  const vars = (inst.fields[field] ?? {}) as Record<string, AttributeValue>;
  const mark = parts.length;
  parts.push(head('level', level), timeText(now), head('instance', inst.name));
  for (const k in vars) {
    const kt = keyText(k);
    if (kt.special) {
      parts.length = mark;
      return false;
    }
    const v = vars[k];
    const type = inst.types[kt[field]];
    let t: string | undefined;
    if (v === kt.last && type === kt.lastType) t = kt.lastText;
    else {
      t = jsonText(v, type);
      kt.last = v;
      kt.lastType = type;
      kt.lastText = t;
    }
    if (t !== undefined) parts.push(kt.quoted, t);
  }
  if (inst.template === 'metric' && inst.fields['value'] !== undefined) {
    const t = jsonText(inst.fields['value'] as AttributeValue, inst.types['value']);
    if (t !== undefined) parts.push(',"value":', t);
  }
  parts.push('}');
  return true;
}

export function formatEntry(inst: Instance, level: string, asJson: boolean, now: Date): string {
  if (asJson) {
    const line = jsonLine(inst, level, now);
    if (line !== undefined) return line;
  }
  const field = inst.fields['variables'] !== undefined ? 'variables' : 'dimensions';
  const vars = (inst.fields[field] ?? {}) as Record<string, AttributeValue>;
  const out: Record<string, unknown> = { level: level.toLowerCase(), time: now.toISOString(), instance: inst.name };
  for (const [k, v] of Object.entries(vars)) out[k] = jsonValue(v, inst.types[`${field}.${k}`]);
  if (inst.template === 'metric' && inst.fields['value'] !== undefined)
    out['value'] = jsonValue(inst.fields['value'] as AttributeValue, inst.types['value']);
  if (asJson) return JSON.stringify(out);
  return Object.entries(out)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\t');
}

/**
 * A batch's lines: one string, written as bytes at the end (flush) into a buffer kept from batch to
 * batch while the stream is done with it when write returns; all-ASCII text as latin1. The lines
 * are made of a few kept pieces each (Layout), so the one string is a tree of them, copied once
 * when encoded: a write into the buffer per piece (a call into the runtime each, with a copy of
 * the piece when it was made by `+`) cost more.
 */
class LineBuffer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private lines = '';
  private ascii = true;

  add(line: string, ascii: boolean): void {
    this.lines += line;
    this.lines += '\n';
    this.ascii &&= ascii;
  }

  /** Writes what was added to `out` (if anything) and starts over. */
  flush(out: NodeJS.WritableStream & { writableLength?: number }): void {
    const { lines, ascii } = this;
    if (lines.length === 0) return;
    this.lines = '';
    this.ascii = true;
    const n = ascii ? lines.length : Buffer.byteLength(lines);
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    const bytes = this.buf.subarray(0, this.buf.write(lines, 0, ascii ? 'latin1' : 'utf8'));
    out.write(bytes);
    // still queued (an asynchronous stream): the bytes are the stream's now
    if (out.writableLength !== 0) this.buf = Buffer.allocUnsafe(this.buf.length);
  }
}

export const stdioAdapter: AdapterInfo = {
  name: 'stdio',
  templates: ['logentry', 'metric'],
  validate: (params) => read(params).r.errors,
  build(params, env) {
    const p = read(params);
    let file: WriteStream | null = null;
    // one write per handleReport call (up to 100 entries of a Report, REPORT_CHUNK), not one per line: stdout to a
    // file or pipe is written synchronously
    const stream = (): NodeJS.WritableStream => {
      if (p.logStream === 'STDOUT') return process.stdout;
      if (p.logStream === 'STDERR') return process.stderr;
      return (file ??= createWriteStream(p.outputPath, { flags: 'a' }));
    };
    const lines = new LineBuffer();
    // severity text → level, worked out once per distinct text
    const levels = new Map<string, keyof typeof LEVELS>();
    const levelOf = (sev: string): keyof typeof LEVELS => {
      let level = levels.get(sev);
      if (level === undefined) {
        const mapped = String(p.severityLevels[sev] ?? sev).toUpperCase();
        level = mapped in LEVELS ? (mapped as keyof typeof LEVELS) : 'INFO';
        if (levels.size < 1000) levels.set(sev, level);
      }
      return level;
    };
    return {
      handleReport(instances) {
        for (const inst of instances) {
          const level = levelOf(String(inst.fields['severity'] ?? 'INFO'));
          if (LEVELS[level] < LEVELS[p.outputLevel]) continue;
          const ts = inst.fields['timestamp'];
          const now = ts instanceof Date ? ts : new Date(env.clock.now());
          if (!(p.outputAsJson && writeLine(lines, inst, level, now)))
            lines.add(formatEntry(inst, level, p.outputAsJson, now), false);
        }
        lines.flush(stream());
      },
      close: () =>
        new Promise<void>((resolve) => {
          if (!file) return resolve();
          file.end(() => resolve());
        }),
    };
  },
};
