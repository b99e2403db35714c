/**
 * The istio.mixer.v1.Mixer gRPC service. `--mode policy` serves Check only,
 * `telemetry` Report only (the other answers UNIMPLEMENTED), `both` serves both.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeCheckRequest, decodeReportRequest, DecodeError, GLOBAL_WORDS } from '@tsmesh/attributes';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import type { Logger } from '@tsmesh/core';
import type { Runtime } from '../runtime/runtime';
import type { QuotaArgs } from '../runtime/types';
import { encodeCheckResponse } from './wire';

export type Mode = 'policy' | 'telemetry' | 'both';

function fail(cb: grpc.sendUnaryData<Buffer>, code: grpc.status, details: string) {
  cb({ code, details, name: 'Error', message: details } as grpc.ServiceError, null);
}

const raw = (b: Buffer) => b;

/**
 * istio.mixer.v1.Mixer as served: the same paths and wire format as the
 * proto-loader definition, but the handlers get the request bytes and return the
 * response bytes — the direct codecs (`decodeCheckRequest`, `encodeCheckResponse`,
 * `decodeReportRequest`) replace protobufjs's decode + toObject / fromObject + encode.
 */
export function mixerServerDefinition(): grpc.ServiceDefinition {
  const generic = mixerServiceDefinition();
  return Object.fromEntries(
    Object.entries(generic).map(([name, method]) => [
      name,
      { ...method, requestDeserialize: raw, responseSerialize: raw },
    ]),
  ) as grpc.ServiceDefinition;
}

/** ReportResponse has no fields. */
const EMPTY = Buffer.alloc(0);

export function mixerImplementation(runtime: Runtime, mode: Mode, logger: Logger): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      if (mode === 'telemetry')
        return fail(cb, grpc.status.UNIMPLEMENTED, 'this Mixer runs in telemetry mode (Report only)');
      let req;
      try {
        req = decodeCheckRequest(call.request, GLOBAL_WORDS);
      } catch (e) {
        if (e instanceof DecodeError) return fail(cb, grpc.status.INVALID_ARGUMENT, e.message);
        throw e;
      }
      let quotas: Map<string, QuotaArgs> | undefined;
      if (req.quotas.size > 0) {
        quotas = new Map();
        for (const [name, q] of req.quotas)
          quotas.set(name, { amount: q.amount, bestEffort: q.bestEffort, deduplicationId: req.deduplicationId });
      }
      runtime.check(req.bag, quotas).then(
        (out) => cb(null, encodeCheckResponse(out)),
        (e: Error) => {
          logger.error({ err: e.message }, 'check failed');
          fail(cb, grpc.status.INTERNAL, e.message);
        },
      );
    },
    Report(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      if (mode === 'policy') return fail(cb, grpc.status.UNIMPLEMENTED, 'this Mixer runs in policy mode (Check only)');
      let bags;
      try {
        bags = decodeReportRequest(call.request, GLOBAL_WORDS);
      } catch (e) {
        if (e instanceof DecodeError) return fail(cb, grpc.status.INVALID_ARGUMENT, e.message);
        throw e;
      }
      runtime.report(bags).then(
        () => cb(null, EMPTY),
        (e: Error) => {
          logger.error({ err: e.message }, 'report failed');
          fail(cb, grpc.status.INTERNAL, e.message);
        },
      );
    },
  };
}

export async function startGrpc(
  address: string,
  impl: grpc.UntypedServiceImplementation,
): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.addService(mixerServerDefinition(), impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = address.slice(0, address.lastIndexOf(':'));
  return { server, address: `${host}:${port}` };
}
