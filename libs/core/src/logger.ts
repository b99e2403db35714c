/**
 * Structured JSON logs, one line each on stdout, in the shape pino writes them:
 * `{"level":"info","time":"<ISO 8601>","component":"proxy",...fields,"msg":"..."}`.
 * Every line carries the component name; secrets never go through here (callers pass redacted
 * values, and fields named like one are masked anyway).
 *
 * Not pino itself: pino loads its transport machinery (thread-stream, worker_threads,
 * sonic-boom, assert) and about ten more packages when it is required, and the sidecar, which
 * logs a few lines at start and on config changes, paid about 1 MB of resident memory for them
 * with its 70 MB budget (docs/proxy.md, "Memory"). The processes here log little, so a line is
 * written synchronously (process.stdout is synchronous for files and pipes on Linux): nothing is
 * lost on process.exit and `flush` has nothing to do.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Where lines go: anything with a `write(line)`, e.g. process.stdout or a test's collector. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  level?: LogLevel | string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  destination?: LogDestination;
}

/** pino's level numbers: a line is written when its level is at or above the logger's. */
const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/** Field names whose values are replaced by REDACTED at any depth. */
const SECRET_KEYS = new Set(['key', 'privateKey', 'token']);
const REDACTED = '[redacted]';

function levelValue(level: string): number {
  const value = (LEVEL_VALUES as Record<string, number | undefined>)[level];
  if (value === undefined) throw new Error(`unknown log level ${level}`);
  return value;
}

/**
 * JSON.stringify replacer: masks secret-named fields, writes an Error as pino's standard
 * serializer does (`type`, `message`, `stack`, then its own fields such as `code`) and a bigint
 * as its decimal string.
 */
function replaceField(key: string, value: unknown): unknown {
  if (SECRET_KEYS.has(key)) return REDACTED;
  if (value instanceof Error)
    return Object.assign({ type: value.name, message: value.message, stack: value.stack }, value) as object;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** The fields of a line as JSON members (`,"a":1,"b":2`), or '' when there are none. */
function fieldMembers(fields: object): string {
  let json: string;
  try {
    json = JSON.stringify(fields, replaceField);
  } catch (e) {
    // A circular structure: the line still goes out, saying why its fields did not.
    json = JSON.stringify({ logFieldsError: (e as Error).message });
  }
  return json.length > 2 ? ',' + json.slice(1, -1) : '';
}

type LogMethod = (fieldsOrMsg?: object | string, msg?: string) => void;

export class Logger {
  private threshold: number;
  private levelName: string;
  /** `,"component":"…"`: the members every line carries after its time. */
  private readonly bindings: string;

  constructor(
    component: string | undefined,
    level: string,
    private readonly destination: LogDestination,
  ) {
    this.threshold = levelValue(level);
    this.levelName = level;
    this.bindings = component === undefined ? '' : `,"component":${JSON.stringify(component)}`;
  }

  /** The active level's name; setting an unknown name throws. */
  get level(): string {
    return this.levelName;
  }

  set level(level: string) {
    this.threshold = levelValue(level);
    this.levelName = level;
  }

  isLevelEnabled(level: LogLevel): boolean {
    return LEVEL_VALUES[level] >= this.threshold && level !== 'silent';
  }

  readonly trace: LogMethod = (a, b) => this.write(10, 'trace', a, b);
  readonly debug: LogMethod = (a, b) => this.write(20, 'debug', a, b);
  readonly info: LogMethod = (a, b) => this.write(30, 'info', a, b);
  readonly warn: LogMethod = (a, b) => this.write(40, 'warn', a, b);
  readonly error: LogMethod = (a, b) => this.write(50, 'error', a, b);
  readonly fatal: LogMethod = (a, b) => this.write(60, 'fatal', a, b);

  /** Lines are written synchronously; kept so a process can say where its last line must be out. */
  flush(): void {
    // nothing buffered
  }

  private write(value: number, label: string, fieldsOrMsg: object | string | undefined, msg?: string): void {
    if (value < this.threshold) return;
    let fields = '';
    if (typeof fieldsOrMsg === 'string') msg = fieldsOrMsg;
    else if (fieldsOrMsg instanceof Error) {
      fields = fieldMembers({ err: fieldsOrMsg });
      msg ??= fieldsOrMsg.message;
    } else if (fieldsOrMsg !== undefined && fieldsOrMsg !== null) fields = fieldMembers(fieldsOrMsg);
    const message = msg === undefined ? '' : `,"msg":${JSON.stringify(msg)}`;
    this.destination.write(
      `{"level":"${label}","time":"${new Date().toISOString()}"${this.bindings}${fields}${message}}\n`,
    );
  }
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['LOG_LEVEL'] ?? 'info';
  return new Logger(component, level, options.destination ?? process.stdout);
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return new Logger(undefined, 'silent', { write: () => undefined });
}
