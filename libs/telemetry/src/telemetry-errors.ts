import { defineErrors } from '@tsmesh/core';

/** Config errors raised by libs/telemetry (access-log formats, tracing config). */
export const telemetryErrors = defineErrors('telemetry', {
  TELEMETRY_ERR_ACCESS_LOG_FORMAT: {
    message: 'invalid access log format {format}: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: "Use Envoy command operators such as %START_TIME%, %REQ(X?Y):N%, %RESPONSE_FLAGS%; write '%%' for a literal percent sign.",
  },
  TELEMETRY_ERR_TRACING_CONFIG: {
    message: 'invalid tracing config: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'The tracing provider must be envoy.tracers.zipkin with a collector_cluster defined in the bootstrap.',
  },
});
