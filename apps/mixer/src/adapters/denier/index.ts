/**
 * `denier` adapter (Istio 1.0 `mixer/adapter/denier`): answers every check,
 * listentry or quota instance with the configured status.
 */
import { GrpcStatus } from '@tsmesh/core';
import { ParamReader } from '../params';
import type { AdapterInfo, CheckResult } from '../../runtime/types';

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const status = r.child(r.raw('status') ?? {}, 'status');
  const code = status.raw('code');
  let num = GrpcStatus.FAILED_PRECONDITION as number;
  if (typeof code === 'number') num = code;
  else if (typeof code === 'string' && code in GrpcStatus) num = GrpcStatus[code as keyof typeof GrpcStatus];
  else if (code !== undefined)
    status.errors.push({ path: 'status.code', message: 'must be a google.rpc.Code number or name' });
  const message = status.string('message', 'rejected by denier');
  r.adopt(status);
  const validDurationMs = r.duration('validDuration', 5000);
  const validUseCount = r.int('validUseCount', 1000);
  return { r, result: { status: { code: num, message }, validDurationMs, validUseCount } as CheckResult };
}

export const denierAdapter: AdapterInfo = {
  name: 'denier',
  templates: ['checknothing', 'listentry', 'quota'],
  validate: (params) => read(params).r.errors,
  build(params) {
    const res = read(params).result;
    return {
      handleCheck: () => res,
      handleQuota: () => ({ amount: 0, validDurationMs: res.validDurationMs }),
    };
  },
};
