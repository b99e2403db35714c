/**
 * The ADS wire shapes (envoy.service.discovery.v3.DiscoveryRequest/Response,
 * snake_case as `@tsmesh/protocol` gives them, resources already unpacked from
 * Any into objects carrying `@type`) and the seams the client talks through:
 * a transport (one gRPC bidi stream per connection) and a sink (the engine).
 */
import type { Msg, Snapshot } from '../engine/types';

export interface NodeInfo {
  id: string;
  cluster: string;
  metadata?: Record<string, unknown>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
}

export interface DiscoveryRequest {
  version_info: string;
  node?: NodeInfo;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  /** google.rpc.Status; set only on a NACK. */
  error_detail?: { code: number; message: string };
}

export interface DiscoveryResponse {
  version_info: string;
  /** Unpacked resources, each with `@type`. */
  resources: Msg[];
  type_url: string;
  nonce: string;
  /** Resources the transport could not decode; the client NACKs the response. */
  decodeErrors?: string[];
}

export interface AdsStreamHandlers {
  onResponse(response: DiscoveryResponse): void;
  /** The stream ended (error or clean end); the client reconnects. */
  onClose(reason: string): void;
}

export interface AdsStream {
  send(request: DiscoveryRequest): void;
  close(): void;
}

/** Opens one ADS stream (`StreamAggregatedResources`). */
export interface AdsTransport {
  open(handlers: AdsStreamHandlers): AdsStream;
  /** Releases the channel. */
  close(): void;
}

/** What the client feeds: the engine (`Dataplane` fits structurally). */
export interface ConfigSink {
  /** Field errors for resources of one type; empty when valid. */
  validate(typeUrl: string, resources: Msg[]): string[];
  /** Replaces the whole running config atomically. */
  apply(snapshot: Snapshot): void | Promise<void>;
}
