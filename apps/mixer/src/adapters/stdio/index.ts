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

/** JSON text of what `jsonValue` gives, without building the object first; undefined → left out. */
function jsonText(v: AttributeValue, type?: string): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
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
  /**
   * groupText[g] as bytes, made the first time a line reuses the group: the lines of a batch are
   * copied into one buffer, and a kept group goes in as a byte copy. Its text would be flattened
   * (a copy of the whole line's text, made of ~60 `+` pieces) and then encoded on every line.
   */
  groupBytes: Array<Buffer | null>;
  instanceHeadBytes: Buffer;
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
      groupBytes: Array.from({ length: Math.ceil(names.length / GROUP) }, () => null),
      instanceHeadBytes: Buffer.from(head('instance', inst.name), 'utf8'),
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
  if (!updateLayout(l, vars)) return slowLine(inst, level, now);
  const { groupText, stale } = l;
  let line = levelHead(level) + timeText(now) + l.instanceHead;
  for (let g = 0; g < groupText.length; g++) {
    if (stale[g]) rebuildGroup(l, g);
    line += groupText[g];
  }
  if (inst.template === 'metric' && inst.fields['value'] !== undefined) {
    const t = jsonText(inst.fields['value'] as AttributeValue, inst.types['value']);
    if (t !== undefined) line += ',"value":' + t;
  }
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
      const t = jsonText(v, types[i]);
      last[i] = v;
      lastText[i] = t === undefined ? '' : quoted[i] + t;
      lastAscii[i] = t === undefined || (quotedAscii[i] && isAsciiText(t));
      stale[(i / GROUP) | 0] = true;
    }
    i++;
  }
  return i === names.length;
}

/** Makes group `g`'s text again from its values' texts (its bytes are made when it is reused). */
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
  l.groupBytes[g] = null;
}

/** levelHead's bytes, by level. */
const levelHeadBytes = new Map<string, Buffer>();

/**
 * jsonLine written straight into `out` with its newline: the fixed pieces and the groups a line
 * reuses as byte copies, the time and the groups that changed as text. False (nothing written)
 * when jsonLine would not make the line from the layout: the caller then adds formatEntry's.
 */
function writeLine(out: LineBuffer, inst: Instance, level: string, now: Date): boolean {
  const field = inst.fields['variables'] !== undefined ? 'variables' : 'dimensions';
  const vars = (inst.fields[field] ?? {}) as Record<string, AttributeValue>;
  const l = layoutOf(inst, field, vars);
  if (l === null || !updateLayout(l, vars)) return false;
  let lh = levelHeadBytes.get(level);
  if (lh === undefined) {
    lh = Buffer.from(levelHead(level), 'utf8');
    if (levelHeadBytes.size < 1000) levelHeadBytes.set(level, lh);
  }
  out.bytes(lh);
  out.text(timeText(now), true);
  out.bytes(l.instanceHeadBytes);
  const { groupText, groupAscii, groupBytes, stale } = l;
  for (let g = 0; g < groupText.length; g++) {
    if (stale[g]) {
      rebuildGroup(l, g);
      out.text(groupText[g], groupAscii[g]);
      continue;
    }
    let b = groupBytes[g];
    if (b === null) b = groupBytes[g] = Buffer.from(groupText[g], groupAscii[g] ? 'latin1' : 'utf8');
    out.bytes(b);
  }
  if (inst.template === 'metric' && inst.fields['value'] !== undefined) {
    const t = jsonText(inst.fields['value'] as AttributeValue, inst.types['value']);
    if (t !== undefined) out.text(',"value":' + t, isAsciiText(t));
  }
  out.end();
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
 * A batch's lines as bytes, in a buffer kept from batch to batch while the stream is done with it
 * when write returns. Lines go in whole (`add`) or in parts (writeLine: `bytes`, `text`, `end`);
 * ASCII text is written as latin1. One string of the batch (a join) encoded to UTF-8 cost more
 * than building the lines (both copy the text into fresh pages each batch, and the encoder
 * flattens its input first).
 */
class LineBuffer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private len = 0;

  /** Makes room for `n` more bytes. */
  private room(n: number): void {
    if (this.len + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.len + n, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
  }

  add(line: string, ascii: boolean): void {
    this.room((ascii ? line.length : Buffer.byteLength(line)) + 1);
    this.len += ascii ? this.buf.write(line, this.len, 'latin1') : this.buf.write(line, this.len, 'utf8');
    this.buf[this.len++] = 0x0a;
  }

  /** Part of a line: bytes. */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Part of a line: text (a UTF-16 unit is at most 3 bytes of UTF-8). */
  text(s: string, ascii: boolean): void {
    this.room(ascii ? s.length : s.length * 3);
    this.len += ascii ? this.buf.write(s, this.len, 'latin1') : this.buf.write(s, this.len, 'utf8');
  }

  /** The end of a line written in parts: `}` and the newline. */
  end(): void {
    this.room(2);
    this.buf[this.len++] = 0x7d;
    this.buf[this.len++] = 0x0a;
  }

  /** Writes what was added to `out` (if anything) and starts over. */
  flush(out: NodeJS.WritableStream & { writableLength?: number }): void {
    if (this.len === 0) return;
    const bytes = this.buf.subarray(0, this.len);
    this.len = 0;
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
