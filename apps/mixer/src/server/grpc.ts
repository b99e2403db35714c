/**
 * The istio.mixer.v1.Mixer gRPC service. `--mode policy` serves Check only,
 * `telemetry` Report only (the other answers UNIMPLEMENTED), `both` serves both.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeBag, decodeReport, DecodeError, GLOBAL_WORDS, type CompressedAttributes } from '@tsmesh/attributes';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import type { Logger } from '@tsmesh/core';
import type { Runtime } from '../runtime/runtime';
import type { QuotaArgs } from '../runtime/types';
import { toCheckResponse } from './wire';

export type Mode = 'policy' | 'telemetry' | 'both';

interface CheckRequest {
  attributes?: CompressedAttributes;
  global_word_count?: number;
  deduplication_id?: string;
  quotas?: Record<string, { amount?: number; best_effort?: boolean }>;
}

function fail(cb: grpc.sendUnaryData<unknown>, code: grpc.status, details: string) {
  cb({ code, details, name: 'Error', message: details } as grpc.ServiceError, null);
}

export function mixerImplementation(runtime: Runtime, mode: Mode, logger: Logger): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<CheckRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (mode === 'telemetry')
        return fail(cb, grpc.status.UNIMPLEMENTED, 'this Mixer runs in telemetry mode (Report only)');
      const req = call.request;
      let bag;
      try {
        bag = decodeBag(req.attributes ?? {}, GLOBAL_WORDS);
      } catch (e) {
        if (e instanceof DecodeError) return fail(cb, grpc.status.INVALID_ARGUMENT, e.message);
        throw e;
      }
      const quotas = new Map<string, QuotaArgs>();
      for (const [name, q] of Object.entries(req.quotas ?? {}))
        quotas.set(name, {
          amount: Number(q.amount ?? 0),
          bestEffort: q.best_effort === true,
          deduplicationId: req.deduplication_id ?? '',
        });
      runtime.check(bag, quotas).then(
        (out) => cb(null, toCheckResponse(out)),
        (e: Error) => {
          logger.error({ err: e.message }, 'check failed');
          fail(cb, grpc.status.INTERNAL, e.message);
        },
      );
    },
    Report(call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (mode === 'policy') return fail(cb, grpc.status.UNIMPLEMENTED, 'this Mixer runs in policy mode (Check only)');
      let bags;
      try {
        bags = decodeReport(call.request, GLOBAL_WORDS);
      } catch (e) {
        if (e instanceof DecodeError) return fail(cb, grpc.status.INVALID_ARGUMENT, e.message);
        throw e;
      }
      runtime.report(bags).then(
        () => cb(null, {}),
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
  server.addService(mixerServiceDefinition(), impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = address.slice(0, address.lastIndexOf(':'));
  return { server, address: `${host}:${port}` };
}
