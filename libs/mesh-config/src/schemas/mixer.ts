import { any, dur, int, list, map, obj, str, strList, strMap } from '../schema';

/**
 * Basic shape checks for Mixer's `config.istio.io/v1alpha2` kinds. Mixer adds
 * detailed checks with `registerKindValidator`. Source: istio/api
 * `policy/v1beta1/cfg.proto`, `mixer/v1/config/client/{quota,api_spec}.proto`.
 */

export const ruleSpec = obj({
  match: str(),
  actions: list(obj({ handler: str(), instances: strList(), name: str() }, { required: ['handler'] })),
  requestHeaderOperations: list(any()),
  responseHeaderOperations: list(any()),
  sampling: any(),
});

export const handlerSpec = obj({
  name: str(),
  adapter: str(),
  compiledAdapter: str(),
  params: any(),
  connection: obj({ address: str(), timeout: dur(), authentication: any() }),
});

export const instanceSpec = obj({
  name: str(),
  template: str(),
  compiledTemplate: str(),
  params: any(),
  attributeBindings: strMap(),
});

export const attributeManifestSpec = obj({
  revision: str(),
  name: str(),
  attributes: map(obj({ valueType: str(), description: str() })),
});

const stringMatch = obj({ exact: str(), prefix: str(), regex: str() });

export const quotaSpecSpec = obj({
  rules: list(
    obj({
      match: list(obj({ clause: map(stringMatch) })),
      quotas: list(obj({ quota: str(), charge: int(0) }, { required: ['quota'] })),
    }),
  ),
});

export const quotaSpecBindingSpec = obj({
  services: list(obj({ name: str(), namespace: str(), service: str(), domain: str(), labels: strMap() })),
  quotaSpecs: list(obj({ name: str(), namespace: str() }, { required: ['name'] })),
});

export const httpApiSpecSpec = obj({
  attributes: any(),
  patterns: list(any()),
  apiKeys: list(any()),
});

export const httpApiSpecBindingSpec = obj({
  services: list(obj({ name: str(), namespace: str(), service: str(), domain: str(), labels: strMap() })),
  apiSpecs: list(obj({ name: str(), namespace: str() }, { required: ['name'] })),
});

/** Adapter/template parameters (memquota, prometheus, metric, …) are Mixer's to check. */
export const paramsSpec = map(any());

/** 1.0 per-kind handler and instance kinds (one CRD per adapter and per template). */
export const MIXER_PARAM_KINDS = [
  // adapters (handlers)
  'apigee',
  'bypass',
  'circonus',
  'cloudwatch',
  'denier',
  'dogstatsd',
  'fluentd',
  'kubernetesenv',
  'listchecker',
  'memquota',
  'noop',
  'opa',
  'prometheus',
  'rbac',
  'redisquota',
  'servicecontrol',
  'signalfx',
  'solarwinds',
  'stackdriver',
  'statsd',
  'stdio',
  'zipkin',
  // templates (instances)
  'analytics',
  'apikey',
  'authorization',
  'checknothing',
  'edge',
  'kubernetes',
  'listentry',
  'logentry',
  'metric',
  'quota',
  'reportnothing',
  'servicecontrolreport',
  'tracespan',
];

/** `adapter` and `template` descriptors for out-of-process adapters (1.0). */
export const descriptorSpec = obj({
  description: str(),
  sessionBased: any(),
  templates: strList(),
  config: str(),
  descriptor: str(),
});
