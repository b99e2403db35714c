/**
 * Per-request facts handed to access logs, tracing and Mixer reports when a stream completes
 * (Envoy's StreamInfo). Response flags use Envoy's short names.
 */
export type ResponseFlag =
  | 'UH'
  | 'UF'
  | 'UO'
  | 'NR'
  | 'URX'
  | 'UT'
  | 'DI'
  | 'FI'
  | 'RL'
  | 'UAEX'
  | 'DC'
  | 'UC'
  | 'UR'
  | 'LR'
  | 'NC'
  | 'SI'
  | 'IH'
  | 'DPE';

export interface StreamInfo {
  /** Wall-clock start (ms since epoch). */
  startTime: number;
  /** Monotonic ms at start, for durations. */
  startMono: number;
  /** Total duration in ms, set at completion. */
  duration: number;
  /** ms from start to the first upstream response byte (headers), if any. */
  responseStart?: number;
  protocol: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2' | 'TCP';
  method: string;
  path: string;
  /** Path before a prefix/regex rewrite (`x-envoy-original-path`). */
  originalPath?: string;
  authority: string;
  scheme: string;
  requestId: string;
  requestHeaders: Readonly<Record<string, string | string[] | number | undefined>>;
  responseCode: number;
  responseHeaders?: Readonly<Record<string, string | string[] | number | undefined>>;
  grpcStatus?: number;
  responseFlags: ResponseFlag[];
  bytesReceived: number;
  bytesSent: number;
  routeName?: string;
  upstreamCluster?: string;
  upstreamHost?: string;
  upstreamLocalAddress?: string;
  /** Number of upstream attempts made (1 + retries). */
  attemptCount: number;
  downstreamRemoteAddress: string;
  downstreamLocalAddress: string;
  /** SPIFFE URI SAN of the downstream peer certificate (mTLS), Istio's `source.principal`. */
  peerIdentity?: string;
  /** SPIFFE URI SAN of this proxy's own certificate on that connection (`destination.principal`). */
  localIdentity?: string;
  listenerName: string;
  statPrefix: string;
  /** Free-form data filters attach (e.g. Mixer status, JWT payload). */
  dynamicMetadata: Record<string, unknown>;
}

export type StreamCompleteHook = (info: StreamInfo) => void;

/** Envoy's access-log rendering of the flags: joined with `,`, `-` when none. */
export function formatResponseFlags(flags: readonly ResponseFlag[]): string {
  return flags.length === 0 ? '-' : flags.join(',');
}
