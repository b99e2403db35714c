/**
 * Keeps the final response headers on the stream info so access logs can print `%RESP(X)%`
 * (Envoy's default format shows `x-envoy-upstream-service-time`). Put first in a connection
 * manager's chain when it has access loggers (local-rewrite.ts), so it sees the headers last.
 */
import type { Msg } from '../engine/types';
import type { HttpFilterFactory } from '../filters/types';

export const RESPONSE_CAPTURE_FILTER_NAME = 'tsmesh.filters.http.response_capture';
export const RESPONSE_CAPTURE_FILTER_TYPE =
  'type.googleapis.com/tsmesh.filters.http.response_capture.v1.ResponseCapture';

export const responseCaptureFilter: HttpFilterFactory<Msg> = {
  name: RESPONSE_CAPTURE_FILTER_NAME,
  typeUrls: [RESPONSE_CAPTURE_FILTER_TYPE],
  parseConfig: (typed) => typed,
  create: () => () => ({
    onResponse(ctx, response) {
      ctx.info.responseHeaders = { ...response.headers };
    },
  }),
};
