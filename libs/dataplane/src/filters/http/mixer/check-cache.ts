/**
 * The client check cache (istio/proxy `mixerclient/check_cache.cc`): Mixer
 * says which attributes its answer depended on (`referenced_attributes`); the
 * answer is stored under a signature of exactly those values, and reused until
 * `valid_duration` passes or `valid_use_count` uses are spent. LRU-bounded
 * (10,000 entries by default).
 */
import { lookupWord, GLOBAL_WORDS, valueText, type Bag } from '@tsmesh/attributes';

export interface RefAttr {
  name: string;
  mapKey?: string;
  absent: boolean;
}

export interface CachedStatus {
  code: number;
  message: string;
}

interface Entry {
  status: CachedStatus;
  expiresAt: number;
  usesLeft: number;
}

export interface WireReferenced {
  words?: string[];
  attribute_matches?: Array<{ name: number; condition?: string | number; map_key?: number }>;
}

/** Decodes ReferencedAttributes; returns null when it cannot be used as a cache key (e.g. REGEX). */
export function decodeReferenced(ref: WireReferenced | undefined): RefAttr[] | null {
  if (!ref) return [];
  const words = ref.words ?? [];
  const out: RefAttr[] = [];
  for (const m of ref.attribute_matches ?? []) {
    const cond =
      m.condition === 'ABSENCE' || m.condition === 1
        ? 'ABSENCE'
        : m.condition === 'EXACT' || m.condition === 2
          ? 'EXACT'
          : 'OTHER';
    if (cond === 'OTHER') return null;
    try {
      const name = lookupWord(m.name, GLOBAL_WORDS, words);
      const mapKey = m.map_key ? lookupWord(m.map_key, GLOBAL_WORDS, words) : undefined;
      out.push({ name, mapKey, absent: cond === 'ABSENCE' });
    } catch {
      return null;
    }
  }
  out.sort((a, b) => (a.name + (a.mapKey ?? '') < b.name + (b.mapKey ?? '') ? -1 : 1));
  return out;
}

export function signature(refs: readonly RefAttr[], bag: Bag): string | null {
  let sig = '';
  for (const r of refs) {
    const v = r.mapKey === undefined ? bag.get(r.name) : bag.mapEntry(r.name, r.mapKey);
    if (r.absent) {
      if (v !== undefined) return null;
      continue;
    }
    if (v === undefined) return null;
    sig += `${r.name}${r.mapKey === undefined ? '' : `[${r.mapKey}]`}=${typeof v === 'string' ? v : valueText(v)}\u0000`;
  }
  return sig;
}

export class CheckCache {
  private readonly refSets = new Map<string, RefAttr[]>();
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 10_000) {}

  get size(): number {
    return this.entries.size;
  }

  /** A cached answer for this request, consuming one use; undefined on a miss. */
  lookup(bag: Bag, now: number): CachedStatus | undefined {
    for (const [refKey, refs] of this.refSets) {
      const sig = signature(refs, bag);
      if (sig === null) continue;
      const key = `${refKey}\u0001${sig}`;
      const e = this.entries.get(key);
      if (!e) continue;
      if (e.expiresAt <= now || e.usesLeft <= 0) {
        this.entries.delete(key);
        continue;
      }
      e.usesLeft--;
      this.entries.delete(key);
      this.entries.set(key, e);
      return e.status;
    }
    return undefined;
  }

  insert(
    bag: Bag,
    refs: RefAttr[],
    status: CachedStatus,
    validDurationMs: number,
    useCount: number,
    now: number,
  ): void {
    // the Check that fetched the answer spent its first use: with one, nothing is left to serve
    if (validDurationMs <= 0 || useCount <= 1) return;
    const refKey = refs
      .map((r) => `${r.absent ? '!' : ''}${r.name}${r.mapKey === undefined ? '' : `[${r.mapKey}]`}`)
      .join(',');
    if (!this.refSets.has(refKey)) {
      // every lookup walks the distinct attribute sets; Mixer's rules produce few, so a flood means churn
      if (this.refSets.size >= 256) this.clear();
      this.refSets.set(refKey, refs);
    }
    const sig = signature(refs, bag);
    if (sig === null) return;
    const key = `${refKey}\u0001${sig}`;
    this.entries.delete(key);
    this.entries.set(key, { status, expiresAt: now + validDurationMs, usesLeft: useCount - 1 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
    this.refSets.clear();
  }
}
