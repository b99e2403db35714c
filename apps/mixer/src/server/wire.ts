/** Converts runtime outcomes to istio.mixer.v1 response objects (proto-loader object form). */
import { WordTable, type Reference } from '@tsmesh/attributes';
import { toProtoDuration } from '@tsmesh/core';
import type { CheckOutcome } from '../runtime/runtime';

export interface WireReferencedAttributes {
  words: string[];
  attribute_matches: Array<{ name: number; condition: 'ABSENCE' | 'EXACT' | 'REGEX'; regex: string; map_key: number }>;
}

/** ReferencedAttributes: names (and map keys) as dictionary indexes; map_key 0 means "no key", as the proxy reads it. */
export function toReferenced(refs: readonly Reference[]): WireReferencedAttributes {
  const words = new WordTable();
  const attribute_matches = refs.map((r) => ({
    name: words.index(r.name),
    condition: r.condition,
    regex: '',
    map_key: r.mapKey === undefined ? 0 : words.index(r.mapKey),
  }));
  return { words: words.words, attribute_matches };
}

export function toCheckResponse(out: CheckOutcome): Record<string, unknown> {
  const quotas: Record<string, unknown> = {};
  for (const [name, q] of out.quotas) {
    quotas[name] = {
      valid_duration: toProtoDuration(q.validDurationMs),
      granted_amount: q.amount,
      referenced_attributes: toReferenced(q.references),
    };
  }
  return {
    precondition: {
      status: { code: out.status.code, message: out.status.message, details: [] },
      valid_duration: toProtoDuration(out.validDurationMs),
      valid_use_count: out.validUseCount,
      referenced_attributes: toReferenced(out.references),
    },
    quotas,
  };
}
