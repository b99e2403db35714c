/**
 * HCM `access_log` (envoy.access_loggers.file / stdout / stderr, with `log_format` text or JSON,
 * or the v2-era `format` / `json_format`) applied when a stream completes. Loggers are compiled
 * once per config push and indexed by listener name and stat prefix; lines are buffered per
 * output and written in chunks (Envoy's flush: every second or at 64 KiB), never on the request path.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { FieldError } from '@tsmesh/core';
import { compileJsonFormat, compileTextFormat, type AccessLogEntry, type AccessLogFormatter } from '@tsmesh/telemetry';
import type { Msg } from '../engine/types';
import type { StreamInfo } from '../http/stream-info';

const FILE = 'envoy.access_loggers.file';
const STDOUT = 'envoy.access_loggers.stdout';
const STDERR = 'envoy.access_loggers.stderr';
const FILE_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';

/** Istio's JSON access-log fields (`accessLogEncoding: JSON`). */
export const ISTIO_JSON_FORMAT: Record<string, string> = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
};

export interface AccessLogger {
  path: string;
  format: AccessLogFormatter;
}

/** Compiles one `access_log` entry; pushes field errors (unknown logger, bad format). */
export function compileAccessLog(entry: Msg, path: string, errors: FieldError[]): AccessLogger | undefined {
  const name = String(entry['name'] ?? '');
  const tc = (entry['typed_config'] ?? {}) as Msg;
  const type = tc['@type'];
  let target: string;
  if (name === FILE || type === FILE_TYPE) target = String(tc['path'] ?? '');
  else if (name === STDOUT || type === STDOUT_TYPE) target = '/dev/stdout';
  else if (name === STDERR || type === STDERR_TYPE) target = '/dev/stderr';
  else {
    errors.push({ path: `${path}.name`, message: `unsupported access logger ${name || String(type)}` });
    return undefined;
  }
  if (!target) {
    errors.push({ path: `${path}.typed_config.path`, message: 'a file access log needs a path' });
    return undefined;
  }
  const lf = (tc['log_format'] ?? {}) as Msg;
  try {
    let format: AccessLogFormatter;
    const json = lf['json_format'] ?? tc['json_format'];
    const text = lf['text_format_source']?.['inline_string'] ?? lf['text_format'] ?? tc['format'];
    if (json && typeof json === 'object') format = compileJsonFormat(json as Record<string, string>);
    else format = compileTextFormat(typeof text === 'string' && text !== '' ? text : undefined);
    return { path: target, format };
  } catch (e) {
    errors.push({ path: `${path}.typed_config.log_format`, message: (e as Error).message });
    return undefined;
  }
}

export function toAccessLogEntry(info: StreamInfo): AccessLogEntry {
  return {
    startTime: info.startTime,
    method: info.method,
    path: info.originalPath ?? info.path,
    authority: info.authority,
    scheme: info.scheme,
    protocol: info.protocol,
    requestHeaders: info.originalPath
      ? { ...info.requestHeaders, 'x-envoy-original-path': info.originalPath }
      : info.requestHeaders,
    responseHeaders: info.responseHeaders,
    responseCode: info.responseCode,
    responseFlags: info.responseFlags,
    bytesReceived: info.bytesReceived,
    bytesSent: info.bytesSent,
    durationMs: info.duration,
    responseDurationMs: info.responseStart,
    upstreamHost: info.upstreamHost,
    upstreamCluster: info.upstreamCluster,
    upstreamLocalAddress: info.upstreamLocalAddress,
    downstreamLocalAddress: info.downstreamLocalAddress,
    downstreamRemoteAddress: info.downstreamRemoteAddress,
    routeName: info.routeName,
  };
}

/** Envoy's file access-log defaults: flush every second (`file_flush_interval`) or at 64 KiB. */
export const ACCESS_LOG_FLUSH_INTERVAL_MS = 1000;
export const ACCESS_LOG_FLUSH_BYTES = 64 * 1024;

/**
 * Lines for one output, buffered like Envoy's access-log file: written as one chunk when 64 KiB
 * are pending or a second after the first pending line, so a request costs a string append
 * instead of a write (a file write goes to the thread pool; stdout to a pipe is a synchronous
 * write(2) per call in Node).
 */
class BufferedOutput {
  private pending: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly stream: NodeJS.WritableStream,
    private readonly flushIntervalMs: number,
    private readonly flushBytes: number,
  ) {}

  write(line: string): void {
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes >= this.flushBytes) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = [];
    this.bytes = 0;
    this.stream.write(chunk);
  }
}

export interface AccessLogsOptions {
  /** Where `/dev/stdout` loggers write (default process.stdout). */
  stdout?: NodeJS.WritableStream;
  /** Pending lines are written at least this often (default 1000 ms, Envoy's). */
  flushIntervalMs?: number;
  /** ...or as soon as this many bytes are pending (default 64 KiB, Envoy's). */
  flushBytes?: number;
}

/**
 * Listener name → HCM stat prefix → its loggers: two lookups of strings from the config per
 * completed stream, no key built per request.
 */
export type AccessLogIndex = Map<string, Map<string, AccessLogger[]>>;

/** Adds `loggers` to the index under the listener and stat prefix. */
export function indexAccessLogs(
  index: AccessLogIndex,
  listenerName: string,
  statPrefix: string,
  loggers: AccessLogger[],
): void {
  let byPrefix = index.get(listenerName);
  if (!byPrefix) index.set(listenerName, (byPrefix = new Map()));
  byPrefix.set(statPrefix, [...(byPrefix.get(statPrefix) ?? []), ...loggers]);
}

/** Owns the output streams and the per-listener logger index. */
export class AccessLogs {
  private index: AccessLogIndex = new Map();
  private readonly outputs = new Map<string, BufferedOutput>();
  private readonly stdout: NodeJS.WritableStream;
  private readonly flushIntervalMs: number;
  private readonly flushBytes: number;

  constructor(options: AccessLogsOptions | NodeJS.WritableStream = {}) {
    const o: AccessLogsOptions = 'write' in options ? { stdout: options as NodeJS.WritableStream } : options;
    this.stdout = o.stdout ?? process.stdout;
    this.flushIntervalMs = o.flushIntervalMs ?? ACCESS_LOG_FLUSH_INTERVAL_MS;
    this.flushBytes = o.flushBytes ?? ACCESS_LOG_FLUSH_BYTES;
  }

  /** Replaces the index after a push. */
  setIndex(index: AccessLogIndex): void {
    this.index = index;
  }

  /** The stream-complete hook. */
  readonly onStreamComplete = (info: StreamInfo): void => {
    if (this.index.size === 0) return;
    const loggers = this.index.get(info.listenerName)?.get(info.statPrefix);
    if (!loggers) return;
    let entry: AccessLogEntry | undefined;
    for (const l of loggers) {
      entry ??= toAccessLogEntry(info);
      let line = l.format(entry);
      if (line.charCodeAt(line.length - 1) !== 10) line += '\n';
      this.output(l.path).write(line);
    }
  };

  /** Writes every pending line now. */
  flush(): void {
    for (const o of this.outputs.values()) o.flush();
  }

  private output(path: string): BufferedOutput {
    let o = this.outputs.get(path);
    if (!o) {
      let s: NodeJS.WritableStream;
      if (path === '/dev/stdout') s = this.stdout;
      else if (path === '/dev/stderr') s = process.stderr;
      else {
        const ws: WriteStream = createWriteStream(path, { flags: 'a' });
        ws.on('error', () => undefined);
        s = ws;
      }
      o = new BufferedOutput(s, this.flushIntervalMs, this.flushBytes);
      this.outputs.set(path, o);
    }
    return o;
  }

  /** Flushes pending lines and closes the files (stdout/stderr stay open). */
  async close(): Promise<void> {
    this.flush();
    const files = [...this.outputs.entries()].filter(([p]) => p !== '/dev/stdout' && p !== '/dev/stderr');
    await Promise.all(files.map(([, o]) => new Promise<void>((r) => (o.stream as WriteStream).end(() => r()))));
    this.outputs.clear();
  }
}
