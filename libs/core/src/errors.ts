/**
 * Error catalogue helper. Every component declares its config/programmer errors
 * once, with a stable code, an HTTP status and a gRPC status; docs/errors.md has
 * one row per code and each component's tests keep the two in step
 * (see `renderErrorsDoc` / `checkErrorsDoc`).
 */

/** gRPC status codes (google.rpc.Code), by name. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusName = keyof typeof GrpcStatus;

export interface ErrorSpec {
  /** What went wrong, as a user reads it; `{name}` placeholders are filled from params. */
  message: string;
  http: number;
  grpc: GrpcStatusName;
  /** What the user can do about it (shown in docs/errors.md). */
  hint?: string;
}

/** One problem at one place in a config object: `spec.http[1].route[0].weight`. */
export interface FieldError {
  path: string;
  message: string;
}

export class MeshError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly grpcCode: number;
  readonly fieldErrors: readonly FieldError[];
  readonly params: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    spec: ErrorSpec,
    params: Record<string, unknown> = {},
    fieldErrors: readonly FieldError[] = [],
    options?: { cause?: unknown },
  ) {
    super(formatMessage(spec.message, params, fieldErrors), options);
    this.name = 'MeshError';
    this.code = code;
    this.httpStatus = spec.http;
    this.grpcCode = GrpcStatus[spec.grpc];
    this.fieldErrors = fieldErrors;
    this.params = params;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, fieldErrors: this.fieldErrors };
  }
}

function formatMessage(template: string, params: Record<string, unknown>, fieldErrors: readonly FieldError[]): string {
  const base = template.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? String(params[k]) : `{${k}}`));
  if (fieldErrors.length === 0) return base;
  return `${base}: ${fieldErrors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ')}`;
}

export type Catalogue<K extends string> = {
  readonly component: string;
  readonly specs: Readonly<Record<K, ErrorSpec>>;
  /** Builds the error for `code`; throw it yourself so stack traces point at the caller. */
  error(code: K, params?: Record<string, unknown>, fieldErrors?: readonly FieldError[], cause?: unknown): MeshError;
};

/**
 * Declares a component's error catalogue. Codes are `<COMPONENT>_ERR_<WHAT>`.
 * @example const errors = defineErrors('pilot', { PILOT_ERR_INVALID_VIRTUAL_SERVICE: {...} })
 */
export function defineErrors<K extends string>(component: string, specs: Record<K, ErrorSpec>): Catalogue<K> {
  const prefix = `${component.toUpperCase().replace(/-/g, '_')}_ERR_`;
  for (const code of Object.keys(specs)) {
    if (!code.startsWith(prefix)) throw new Error(`error code ${code} must start with ${prefix}`);
  }
  return {
    component,
    specs,
    error(code, params = {}, fieldErrors = [], cause) {
      return new MeshError(code, specs[code], params, fieldErrors, cause === undefined ? undefined : { cause });
    },
  };
}

export function isMeshError(e: unknown): e is MeshError {
  return e instanceof MeshError;
}

/** Markdown table rows for one catalogue, as they appear in docs/errors.md. */
export function renderErrorsDoc(catalogue: Catalogue<string>): string {
  const rows = Object.entries(catalogue.specs).map(([code, s]) => {
    const spec = s as ErrorSpec;
    const cell = (t: string) => t.replace(/\|/g, '\\|');
    return `| \`${code}\` | ${spec.http} | ${spec.grpc} | ${cell(spec.message)} | ${cell(spec.hint ?? '')} |`;
  });
  return [
    `<!-- errors:${catalogue.component}:begin -->`,
    `| code | HTTP | gRPC | message | what to do |`,
    `| --- | --- | --- | --- | --- |`,
    ...rows,
    `<!-- errors:${catalogue.component}:end -->`,
  ].join('\n');
}
