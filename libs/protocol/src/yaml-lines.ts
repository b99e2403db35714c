import type { FieldError } from '@tsmesh/core';
import type * as Yaml from 'yaml';
import type { LineCounter, Node, Document } from 'yaml';
import { camelCase } from './reflect';

let yamlModule: typeof Yaml | undefined;

/**
 * The yaml package, loaded on first use: a sidecar with a generated bootstrap and xDS never
 * parses YAML, and loading it costs about 1 MB of heap (docs/performance.md, sidecar RSS).
 */
export function yaml(): typeof Yaml {
  yamlModule ??= require('yaml') as typeof Yaml;
  return yamlModule;
}

const SEGMENT_RE = /([^.[\]]+)|\[([^\]]*)\]/g;

/**
 * The YAML line a field path points at (`a.b[0].c[key]`), or the line of the deepest
 * ancestor present in the document (for a required field that is missing).
 */
export function lineOf(doc: Document, lines: LineCounter, path: string): number | undefined {
  const { isMap, isSeq } = yaml();
  let node: unknown = doc.contents;
  let found = node as Node | null;
  for (const m of path.matchAll(SEGMENT_RE)) {
    const key = m[1] ?? m[2];
    let next: unknown;
    if (isSeq(node) && m[2] !== undefined && /^\d+$/.test(key)) next = node.items[Number(key)];
    else if (isMap(node)) next = node.get(key, true) ?? node.get(camelCase(key), true);
    if (next === undefined || next === null) break;
    node = next;
    found = next as Node;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** Adds " (line N)" to each field error whose path can be found in the YAML document. */
export function withLines(doc: Document, lines: LineCounter, errors: readonly FieldError[]): FieldError[] {
  return errors.map((e) => {
    const line = lineOf(doc, lines, e.path);
    return line === undefined ? e : { path: e.path, message: `${e.message} (line ${line})` };
  });
}
