/**
 * Reads Mixer config YAML (one or many documents per file, `List` expanded),
 * keeping the file and line of each object so errors can point at it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';

export interface RawObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  spec: Record<string, unknown>;
  file: string;
  line: number;
}

export interface LoadProblem {
  file: string;
  line: number;
  message: string;
}

export interface Loaded {
  objects: RawObject[];
  problems: LoadProblem[];
}

export function parseConfigText(text: string, file: string, defaultNamespace = 'default'): Loaded {
  const out: Loaded = { objects: [], problems: [] };
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const line = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) out.problems.push({ file, line: lc.linePos(e.pos[0]).line, message: e.message });
      continue;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const items =
      isObj(value) && value['kind'] === 'List' && Array.isArray(value['items'])
        ? (value['items'] as unknown[])
        : [value];
    for (const item of items) {
      if (!isObj(item) || typeof item['kind'] !== 'string') {
        out.problems.push({ file, line, message: 'document is not an object with apiVersion and kind' });
        continue;
      }
      const meta = isObj(item['metadata']) ? item['metadata'] : {};
      out.objects.push({
        apiVersion: String(item['apiVersion'] ?? ''),
        kind: item['kind'],
        name: String(meta['name'] ?? ''),
        namespace: String(meta['namespace'] ?? defaultNamespace),
        spec: isObj(item['spec']) ? item['spec'] : {},
        file,
        line,
      });
    }
  }
  return out;
}

/** Every YAML/JSON file under `dir` (recursively, sorted for a stable order). */
export function listConfigFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(ya?ml|json)$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export function loadConfigDir(dir: string, defaultNamespace = 'default'): Loaded {
  const out: Loaded = { objects: [], problems: [] };
  for (const f of listConfigFiles(dir)) {
    const r = parseConfigText(readFileSync(f, 'utf8'), f, defaultNamespace);
    out.objects.push(...r.objects);
    out.problems.push(...r.problems);
  }
  return out;
}

/** A cheap fingerprint of the folder (names, sizes, mtimes) to skip re-parsing when nothing changed. */
export function dirFingerprint(dir: string): string {
  return listConfigFiles(dir)
    .map((f) => {
      const st = statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join('|');
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
