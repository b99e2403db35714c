/**
 * Mixer's `config.istio.io/v1alpha2` kinds, shape-checked only here; Mixer
 * validates them in detail through `registerKindValidator`. JSON names follow
 * istio/api `policy/v1beta1/cfg.proto` and `mixer/v1/config/client/quota.proto`.
 */

export interface RuleAction {
  handler: string;
  instances?: string[];
  name?: string;
}

export interface RuleSpec {
  match?: string;
  actions?: RuleAction[];
  requestHeaderOperations?: unknown[];
  responseHeaderOperations?: unknown[];
  sampling?: unknown;
}

/** Generic `handler` (1.0 out-of-process form): `compiledAdapter` or `adapter` + `params`. */
export interface HandlerSpec {
  name?: string;
  adapter?: string;
  compiledAdapter?: string;
  params?: Record<string, unknown>;
  connection?: { address?: string; timeout?: string; authentication?: unknown };
}

/** Generic `instance`: `compiledTemplate` or `template` + `params`. */
export interface InstanceSpec {
  name?: string;
  template?: string;
  compiledTemplate?: string;
  params?: Record<string, unknown>;
  attributeBindings?: Record<string, string>;
}

export interface AttributeManifestSpec {
  revision?: string;
  name?: string;
  attributes?: Record<string, { valueType?: string; description?: string }>;
}

export interface QuotaSpecSpec {
  rules?: {
    match?: { clause?: Record<string, { exact?: string; prefix?: string; regex?: string }> }[];
    quotas?: { quota: string; charge?: number }[];
  }[];
}

export interface QuotaSpecBindingSpec {
  services?: {
    name?: string;
    namespace?: string;
    service?: string;
    domain?: string;
    labels?: Record<string, string>;
  }[];
  quotaSpecs?: { name: string; namespace?: string }[];
}

/** The 1.0 per-kind handler/instance forms (`memquota`, `prometheus`, `metric`, …): params object as written. */
export type AdapterParams = Record<string, unknown>;
