import { defineErrors } from '@tsmesh/core';

/** The mesh-config error catalogue; every `ConfigError.code` is one of these. */
export const meshConfigErrors = defineErrors('mesh-config', {
  MESH_CONFIG_ERR_INVALID_YAML: {
    message: 'invalid YAML/JSON: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the syntax at the reported line (indentation, quoting, tabs).',
  },
  MESH_CONFIG_ERR_READ_FAILED: {
    message: 'cannot read {file}: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Check the path and permissions.',
  },
  MESH_CONFIG_ERR_INVALID_OBJECT: {
    message: 'not a config object: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Every document needs apiVersion, kind and metadata.name.',
  },
  MESH_CONFIG_ERR_UNKNOWN_KIND: {
    message: 'unknown kind {kind} ({apiVersion})',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Check kind and apiVersion spelling; see docs/mesh-config.md for the accepted kinds and versions.',
  },
  MESH_CONFIG_ERR_UNKNOWN_FIELD: {
    message: 'unknown field {field}{suggestion}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Remove the field or fix its spelling/indentation; fields are checked against the Istio API of every accepted version.',
  },
  MESH_CONFIG_ERR_WRONG_TYPE: {
    message: 'expected {expected}, got {actual}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Write the value with the type the Istio API documents (e.g. a number without quotes, a list with "- ").',
  },
  MESH_CONFIG_ERR_MISSING_FIELD: {
    message: 'required field is missing',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Add the field.',
  },
  MESH_CONFIG_ERR_INVALID_VALUE: {
    message: '{detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Use one of the documented values or a value in range.',
  },
  MESH_CONFIG_ERR_INVALID_DURATION: {
    message: 'invalid duration {value}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Write durations like 100ms, 1.5s, 10s, 1m, 1h.',
  },
  MESH_CONFIG_ERR_INVALID_REGEX: {
    message: 'invalid regex {value}: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Regexes use RE2 syntax as in Envoy (no lookahead or backreferences).',
  },
  MESH_CONFIG_ERR_WEIGHTS: {
    message: 'weights must sum to 100, got {sum}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Make the route destination weights of each HTTP/TCP/TLS route add up to exactly 100.',
  },
  MESH_CONFIG_ERR_INVALID_HOST: {
    message: 'invalid host {host}: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Hosts are DNS names, optionally with a leading "*." wildcard.',
  },
  MESH_CONFIG_ERR_INVALID_CONFIG: {
    message: 'invalid {what}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'See the listed field errors.',
  },
});

export type MeshConfigErrorCode = keyof typeof meshConfigErrors.specs;
