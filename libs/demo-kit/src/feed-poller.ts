/**
 * The shop's consumers (shipping, invoicing, bonus) read the order service's
 * Atom feed: on every poll (a timer, 30 s by default, or the UI's "poll"
 * button) they fetch the feed, then each entry they have not stored yet. A
 * failed poll is recorded and shown, never fatal.
 */
import { demoRequest, getJson } from './client';
import { parseAtomFeed } from './atom';

export interface PollResult {
  ok: boolean;
  at: string;
  added: number;
  error?: string;
}

export interface FeedPollerOptions<T> {
  /** Base URL of the order service, e.g. `http://order:8080`. */
  orderUrl: string;
  feedPath?: string;
  isKnown(id: number): Promise<boolean>;
  store(order: T): Promise<void>;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export class FeedPoller<T extends { id: number }> {
  last: PollResult | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<PollResult> | null = null;

  constructor(private readonly options: FeedPollerOptions<T>) {}

  /** One poll; concurrent calls share the poll in flight. */
  poll(headers: Record<string, string> = {}): Promise<PollResult> {
    if (!this.running) this.running = this.doPoll(headers).finally(() => (this.running = null));
    return this.running;
  }

  private async doPoll(headers: Record<string, string>): Promise<PollResult> {
    const o = this.options;
    const at = new Date().toISOString();
    let added = 0;
    try {
      const url = new URL(o.feedPath ?? '/order/feed', o.orderUrl).href;
      const res = await demoRequest(url, {
        headers: { accept: 'application/atom+xml', ...headers },
        timeoutMs: o.timeoutMs ?? 10_000,
      });
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
      const feed = parseAtomFeed(res.body);
      for (const entry of feed.entries) {
        const id = Number(/(\d+)\/?$/.exec(entry.href)?.[1] ?? NaN);
        if (!Number.isInteger(id) || (await o.isKnown(id))) continue;
        const order = await getJson<T>(new URL(entry.href, o.orderUrl).href, {
          headers,
          timeoutMs: o.timeoutMs ?? 10_000,
        });
        await o.store(order);
        added++;
      }
      this.last = { ok: true, at, added };
    } catch (e) {
      this.last = { ok: false, at, added, error: (e as Error).message };
    }
    return this.last;
  }

  /** Polls every `intervalMs` (0 disables the timer). */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.running) await this.running;
  }
}
