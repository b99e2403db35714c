import { defineErrors } from '@tsmesh/core';

/** Error catalogue of @tsmesh/protocol (rows of docs/errors.md). */
export const protocolErrors = defineErrors('protocol', {
  PROTOCOL_ERR_INVALID_MESSAGE: {
    message: 'invalid {type}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the fields named in the error; field paths use snake_case names as in the Envoy/Istio proto.',
  },
  PROTOCOL_ERR_UNKNOWN_TYPE: {
    message: 'unknown message type {type}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Use a full proto name (envoy.config.listener.v3.Listener) or type URL that tsmesh loads; see docs/protocol.md.',
  },
  PROTOCOL_ERR_DECODE: {
    message: 'cannot decode {type}: {reason}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'The bytes are not a valid serialized message of that type; check the sender and the type URL.',
  },
  PROTOCOL_ERR_INVALID_YAML: {
    message: 'invalid YAML for {type}: {reason}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the YAML syntax at the line named in the error.',
  },
  PROTOCOL_ERR_PROTO_LOAD: {
    message: 'cannot load proto definitions: {reason}',
    http: 500,
    grpc: 'INTERNAL',
    hint: 'Reinstall dependencies (@grpc/grpc-js-xds ships the Envoy protos) and run `npm run protos:check`.',
  },
});

export type ProtocolErrorCode = keyof typeof protocolErrors.specs;
