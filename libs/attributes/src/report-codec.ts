/**
 * Report batches (istio.mixer.v1.ReportRequest). On the wire each entry updates
 * the bag built from the previous ones (Mixer 1.0 `UpdateBagFromProto` only sets,
 * so a removal cannot be expressed). The encoder therefore groups entries with the
 * same attribute names into one request and sends only the values that changed,
 * with one shared `default_words` list per request.
 */
import { MutableBag, valueText, type AttributeValue, type Bag } from './bag';
import {
  emptyCompressed,
  encodeAttribute,
  updateBag,
  wireType,
  WordTable,
  type CompressedAttributes,
} from './compressed';
import { GLOBAL_WORDS } from './global-dictionary';
import { ISTIO_MANIFEST, type Manifest } from './manifest';

export interface ReportRequestMessage {
  attributes: CompressedAttributes[];
  default_words: string[];
  global_word_count: number;
}

function sameValue(a: AttributeValue | undefined, b: AttributeValue): boolean {
  if (a === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return valueText(a) === valueText(b);
}

export function encodeReport(bags: readonly Bag[], manifest: Manifest = ISTIO_MANIFEST): ReportRequestMessage[] {
  const groups = new Map<string, Bag[]>();
  for (const bag of bags) {
    const key = [...bag.names()].sort().join('\u0000');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(bag);
  }
  const out: ReportRequestMessage[] = [];
  for (const group of groups.values()) {
    const words = new WordTable();
    const attributes: CompressedAttributes[] = [];
    let previous: Bag | undefined;
    for (const bag of group) {
      const msg = emptyCompressed();
      for (const name of bag.names()) {
        const v = bag.get(name);
        if (v === undefined || (previous && sameValue(previous.get(name), v))) continue;
        encodeAttribute(msg, words, name, v, wireType(bag, name, v, manifest));
      }
      attributes.push(msg);
      previous = bag;
    }
    out.push({ attributes, default_words: words.words, global_word_count: GLOBAL_WORDS.length });
  }
  return out;
}

/** One independent bag per entry. */
export function decodeReport(
  req: Partial<ReportRequestMessage>,
  globalWords: readonly string[] = GLOBAL_WORDS,
): MutableBag[] {
  const acc = new MutableBag();
  const out: MutableBag[] = [];
  for (const entry of req.attributes ?? []) {
    updateBag(acc, entry, globalWords, req.default_words ?? []);
    out.push(new MutableBag(acc));
  }
  return out;
}
