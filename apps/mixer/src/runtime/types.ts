/** The contract between Mixer's runtime and its adapters (Istio's handler interfaces, per template variety). */
import type { AttributeValue, ValueType } from '@tsmesh/attributes';
import type { Clock, FieldError, Logger, Registry } from '@tsmesh/core';

export interface RpcStatus {
  /** google.rpc.Code */
  code: number;
  message: string;
}

/** One built instance: the template's fields evaluated against a request's attributes. */
export interface Instance {
  /** Fully qualified instance name (`requestcount.metric.istio-system`). */
  name: string;
  template: string;
  fields: Record<string, AttributeValue | Record<string, AttributeValue>>;
  /** Value types of the expression fields (`value`, and map entries as `variables.latency`), e.g. DURATION → seconds for Prometheus. */
  types: Readonly<Record<string, ValueType>>;
}

export interface CheckResult {
  status: RpcStatus;
  validDurationMs: number;
  validUseCount: number;
}

export interface QuotaArgs {
  amount: number;
  bestEffort: boolean;
  deduplicationId: string;
}

export interface QuotaResult {
  /** Non-OK when the adapter could not decide (Redis down, etc.). */
  status?: RpcStatus;
  amount: number;
  validDurationMs: number;
}

export interface Handler {
  handleCheck?(instance: Instance): Promise<CheckResult> | CheckResult;
  handleReport?(instances: readonly Instance[]): Promise<void> | void;
  handleQuota?(instance: Instance, args: QuotaArgs): Promise<QuotaResult> | QuotaResult;
  close?(): Promise<void> | void;
}

export interface AdapterEnv {
  /** Fully qualified handler name. */
  handlerName: string;
  clock: Clock;
  logger: Logger;
  /** Mixer's own metrics (adapters declare their counters here). */
  selfRegistry: Registry;
  /** The registry served on the prometheus adapter's listener (42422). */
  promRegistry: Registry;
  /** `grant` or `deny`: what a quota adapter does when its backend is unreachable. */
  quotaBackendUnavailable: 'grant' | 'deny';
}

/** One adapter: a folder under adapters/, registered by name in registerBuiltinAdapters(). */
export interface AdapterInfo {
  name: string;
  /** Templates its handlers accept. */
  templates: readonly string[];
  /** Field errors with paths relative to the handler's params. */
  validate(params: Record<string, unknown>): FieldError[];
  build(params: Record<string, unknown>, env: AdapterEnv): Handler | Promise<Handler>;
}

export const OK: RpcStatus = { code: 0, message: '' };
