/** The data plane's error catalogue (config errors; request failures are response flags, not errors). */
import { defineErrors } from '@tsmesh/core';

export const dataplaneErrors = defineErrors('dataplane', {
  DATAPLANE_ERR_INVALID_CONFIG: {
    message: 'rejected {kind} configuration',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the named resource fields; the proxy keeps serving its last good configuration (the xDS client NACKs with this text).',
  },
  DATAPLANE_ERR_LISTENER_BIND: {
    message: 'listener {listener} cannot bind {address}: {reason}',
    http: 500,
    grpc: 'UNAVAILABLE',
    hint: 'Another process holds the port, or the address is not local. Pick another port (0 lets the kernel choose).',
  },
  DATAPLANE_ERR_STOPPED: {
    message: 'the data plane was stopped',
    http: 503,
    grpc: 'UNAVAILABLE',
    hint: 'Create a new Dataplane; a stopped one accepts no configuration.',
  },
});
