/**
 * JWKS fetched by the control plane (never by the proxy per request): Pilot
 * asks for every `jwksUri` its configs reference, this cache fetches them in
 * the background, refreshes them every `refreshMs` (Istio: 20 min), keeps the
 * last good copy when a refresh fails, and calls `onChange` so Pilot pushes the
 * new keys inline. Until the first fetch succeeds `get` returns undefined and
 * the generator inlines an empty key set (tokens fail closed).
 */
import type { Clock, Logger, TimerHandle } from '@tsmesh/core';

export type Fetcher = (uri: string) => Promise<string>;

export interface JwksCacheOptions {
  clock: Clock;
  logger: Logger;
  refreshMs?: number;
  retryMs?: number;
  fetcher?: Fetcher;
  onChange?: (uri: string) => void;
  maxBytes?: number;
}

interface Entry {
  text?: string;
  timer?: TimerHandle;
  failures: number;
}

export async function defaultFetcher(uri: string, maxBytes = 1024 * 1024): Promise<string> {
  const res = await fetch(uri, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > maxBytes) throw new Error('JWKS larger than 1 MiB');
  const doc = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(doc.keys)) throw new Error('JWKS has no "keys" array');
  return text;
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly refreshMs: number;
  private readonly retryMs: number;
  private readonly fetcher: Fetcher;

  constructor(private readonly o: JwksCacheOptions) {
    this.refreshMs = o.refreshMs ?? 20 * 60_000;
    this.retryMs = o.retryMs ?? 5_000;
    this.fetcher = o.fetcher ?? ((u) => defaultFetcher(u, o.maxBytes));
  }

  /** Cached JWKS text for `uri`; starts fetching it on first use. */
  get(uri: string): string | undefined {
    let e = this.entries.get(uri);
    if (!e) {
      e = { failures: 0 };
      this.entries.set(uri, e);
      void this.refresh(uri);
    }
    return e.text;
  }

  /** Keeps exactly these URIs (stops refreshing the rest). */
  retain(uris: readonly string[]): void {
    for (const [uri, e] of this.entries) {
      if (!uris.includes(uri)) {
        e.timer?.cancel();
        this.entries.delete(uri);
      }
    }
    for (const u of uris) this.get(u);
  }

  async refresh(uri: string): Promise<void> {
    const e = this.entries.get(uri);
    if (!e) return;
    e.timer?.cancel();
    try {
      const text = await this.fetcher(uri);
      e.failures = 0;
      const changed = text !== e.text;
      e.text = text;
      if (changed) this.o.onChange?.(uri);
      e.timer = this.o.clock.setTimeout(() => void this.refresh(uri), this.refreshMs);
    } catch (err) {
      e.failures++;
      this.o.logger.warn(
        { jwksUri: uri, failures: e.failures, err: (err as Error).message, keptLastGood: e.text !== undefined },
        'JWKS fetch failed',
      );
      e.timer = this.o.clock.setTimeout(
        () => void this.refresh(uri),
        Math.min(this.refreshMs, this.retryMs * 2 ** Math.min(e.failures - 1, 6)),
      );
    }
  }

  stop(): void {
    for (const e of this.entries.values()) e.timer?.cancel();
  }
}
