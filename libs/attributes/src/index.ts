export * from './manifest';
export * from './bag';
export * from './global-dictionary';
export * from './compressed';
export * from './report-codec';
export * from './errors';
export { parse, type Node } from './expr/parser';
export {
  compileExpression,
  checkExpression,
  EvalError,
  type CompiledExpression,
  type CompileOptions,
} from './expr/compiler';
export { globMatch, compileRegex } from './expr/functions';
export { ProtoWriter, VARINT, FIXED64, LEN } from './wire/writer';
export { ProtoReader } from './wire/reader';
export { ReportEncoder, DELTA_ENCODING, INDEPENDENT_ENCODING, type EncodedReport } from './wire/report-encoder';
export {
  decodeCheckRequest,
  decodeReportRequest,
  readCompressedInto,
  ReportBag,
  type AttributeSink,
  type DecodedCheckRequest,
  type QuotaParams,
} from './wire/requests';
