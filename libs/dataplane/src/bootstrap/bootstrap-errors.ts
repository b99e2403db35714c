import { defineErrors } from '@tsmesh/core';

/** Start-up errors of the proxy and gateway processes (bootstrap, flags, binding). */
export const proxyErrors = defineErrors('proxy', {
  PROXY_ERR_BOOTSTRAP_READ: {
    message: 'cannot read bootstrap {file}: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Check the --config-path file exists and is readable.',
  },
  PROXY_ERR_BOOTSTRAP_INVALID: {
    message: 'invalid bootstrap {file}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'The file must be an Envoy v3 Bootstrap in YAML or JSON; each field error names its path.',
  },
  PROXY_ERR_BAD_ADDRESS: {
    message: 'invalid address {value} for {setting}: expected host:port',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Write addresses as 127.0.0.1:15000 (port 0 picks a free port); an empty value disables the listener.',
  },
  PROXY_ERR_BAD_SERVICE_NODE: {
    message: 'invalid service node {value}: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Istio node ids look like sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local.',
  },
  PROXY_ERR_BAD_METADATA: {
    message: 'invalid node metadata in {variable}: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'ISTIO_METAJSON_<KEY> variables must hold JSON (ISTIO_META_<KEY> takes plain strings).',
  },
  PROXY_ERR_INITIAL_CONFIG: {
    message: 'initial configuration rejected: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'A static bootstrap resource failed validation; fix the field named in the error.',
  },
});
