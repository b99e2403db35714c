/** A plain gRPC client of istio.mixer.v1.Mixer for tests and benchmarks. */
import * as grpc from '@grpc/grpc-js';
import { encodeBag, encodeReport, GLOBAL_WORDS, type Bag } from '@tsmesh/attributes';
import { mixerServiceDefinition } from '@tsmesh/protocol';

export interface RawCheckResponse {
  precondition: {
    status: { code: number; message: string };
    valid_duration: { seconds: number; nanos: number };
    valid_use_count: number;
    referenced_attributes: {
      words: string[];
      attribute_matches: Array<{ name: number; condition: string; map_key: number }>;
    };
  };
  quotas: Record<string, { granted_amount: number; valid_duration: { seconds: number; nanos: number } }>;
}

export class TestMixerClient {
  private readonly client: grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  constructor(address: string) {
    const Ctor = grpc.makeGenericClientConstructor(mixerServiceDefinition(), 'Mixer');
    this.client = new Ctor(address, grpc.credentials.createInsecure()) as never;
  }
  check(bag: Bag, quotas: Record<string, number> = {}, dedup = ''): Promise<RawCheckResponse> {
    const req = {
      attributes: encodeBag(bag),
      global_word_count: GLOBAL_WORDS.length,
      deduplication_id: dedup,
      quotas: Object.fromEntries(Object.entries(quotas).map(([k, amount]) => [k, { amount, best_effort: false }])),
    };
    return new Promise((resolve, reject) =>
      this.client['Check'](req, (err: Error | null, res: RawCheckResponse) => (err ? reject(err) : resolve(res))),
    );
  }
  checkRaw(req: unknown): Promise<RawCheckResponse> {
    return new Promise((resolve, reject) =>
      this.client['Check'](req, (err: Error | null, res: RawCheckResponse) => (err ? reject(err) : resolve(res))),
    );
  }
  async report(bags: Bag[]): Promise<void> {
    for (const req of encodeReport(bags)) {
      await new Promise<void>((resolve, reject) =>
        this.client['Report'](req, (err: Error | null) => (err ? reject(err) : resolve())),
      );
    }
  }
  close(): void {
    this.client.close();
  }
}
