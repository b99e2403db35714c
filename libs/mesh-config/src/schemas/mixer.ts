import { any, dur, enm, int, list, map, obj, str, strList, strMap } from '../schema';

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

/** istio.policy.v1beta1.ValueType. */
const VALUE_TYPES = [
  'VALUE_TYPE_UNSPECIFIED',
  'STRING',
  'INT64',
  'DOUBLE',
  'BOOL',
  'TIMESTAMP',
  'IP_ADDRESS',
  'EMAIL_ADDRESS',
  'URI',
  'DNS_NAME',
  'DURATION',
  'STRING_MAP',
];

export const attributeManifestSpec = obj({
  revision: str(),
  name: str(),
  attributes: map(obj({ valueType: enm(...VALUE_TYPES), description: str() })),
});

const stringMatch = obj({ exact: str(), prefix: str(), regex: str() });

// Istio 1.0 `ValidateQuotaSpec`, `ValidateQuotaSpecBinding`, `ValidateHTTPAPISpec(Binding)` rules.
export const quotaSpecSpec = obj(
  {
    rules: list(
      obj(
        {
          match: list(obj({ clause: map(stringMatch) })),
          quotas: list(obj({ quota: str(), charge: int(1) }, { required: ['quota'] })),
        },
        { required: ['quotas'] },
      ),
    ),
  },
  { required: ['rules'] },
);

const mixerService = obj({ name: str(), namespace: str(), service: str(), domain: str(), labels: strMap() });
const reference = obj({ name: str(), namespace: str() }, { required: ['name'] });

export const quotaSpecBindingSpec = obj(
  { services: list(mixerService), quotaSpecs: list(reference) },
  { required: ['services', 'quotaSpecs'] },
);

const attributes = obj({ attributes: map(any()) });

export const httpApiSpecSpec = obj(
  {
    attributes,
    patterns: list(
      obj(
        { attributes, httpMethod: str(), uriTemplate: str(), regex: str() },
        { required: ['httpMethod'], oneOf: ['uriTemplate', 'regex'] },
      ),
    ),
    apiKeys: list(obj({ query: str(), header: str(), cookie: str() }, { oneOf: ['query', 'header', 'cookie'] })),
  },
  { required: ['patterns'] },
);

export const httpApiSpecBindingSpec = obj(
  { services: list(mixerService), apiSpecs: list(reference) },
  { required: ['services', 'apiSpecs'] },
);

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
