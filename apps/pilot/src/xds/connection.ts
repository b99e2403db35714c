/**
 * Per-stream xDS bookkeeping: for each type, what the client subscribed to,
 * what was sent (version, nonce) and what it ACKed or NACKed last.
 */
import type { Proxy } from '../model/proxy';

export interface NackRecord {
  version: string;
  nonce: string;
  error: string;
  at: string;
}

export interface TypeState {
  names: string[];
  wildcard: boolean;
  sentVersion?: string;
  sentNonce?: string;
  sentCount?: number;
  /** Fingerprint of the last content sent, to skip identical re-sends. */
  sentHash?: string;
  /** The generated objects last sent (identity comparison short-cuts unchanged types). */
  sentObjects?: readonly object[];
  /** Per-resource fingerprints last sent (RDS/EDS send only what changed). */
  sentResources?: Map<string, string>;
  ackedVersion?: string;
  ackedNonce?: string;
  nack?: NackRecord;
}

export interface PendingConvergence {
  startMs: number;
  outstanding: Set<string>;
}

export class XdsConnection {
  readonly types = new Map<string, TypeState>();
  pending?: PendingConvergence;

  constructor(
    readonly id: string,
    readonly proxy: Proxy,
    readonly peer: string,
    readonly connectedAt: string,
  ) {}

  state(typeUrl: string): TypeState {
    let s = this.types.get(typeUrl);
    if (!s) {
      s = { names: [], wildcard: true };
      this.types.set(typeUrl, s);
    }
    return s;
  }
}
