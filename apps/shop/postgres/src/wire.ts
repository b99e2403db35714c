/**
 * The Postgres frontend/backend protocol (v3) framing this server needs: the untyped start-up
 * packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage) and the typed messages
 * after them, plus the few backend messages the server writes itself (start-up replies, errors).
 */

export const PROTOCOL_3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
/** Larger frontend messages are refused (the shop never sends anything near this). */
export const MAX_MESSAGE = 64 * 1024 * 1024;

export type StartupPacket =
  { kind: 'ssl' | 'gssenc' | 'cancel' } | { kind: 'startup'; version: number; params: Record<string, string> };

/** Cuts a byte stream into packets: untyped (length-prefixed) until start-up, then typed. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  started = false;

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** The next whole packet, or null until more bytes arrive. Throws on a bad length. */
  next(): Buffer | null {
    const head = this.started ? 1 : 0;
    if (this.buf.length < head + 4) return null;
    const len = this.buf.readUInt32BE(head);
    if (len < 4 || len > MAX_MESSAGE) throw new Error(`invalid message length ${len}`);
    if (this.buf.length < head + len) return null;
    const packet = this.buf.subarray(0, head + len);
    this.buf = this.buf.subarray(head + len);
    return packet;
  }
}

export function parseStartup(packet: Buffer): StartupPacket {
  if (packet.length < 8) throw new Error('start-up packet too short');
  const code = packet.readUInt32BE(4);
  if (code === SSL_REQUEST) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST) return { kind: 'cancel' };
  const params: Record<string, string> = {};
  const parts = packet.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) params[parts[i]] = parts[i + 1];
  return { kind: 'startup', version: code, params };
}

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

/** AuthenticationOk, ParameterStatus for each entry, BackendKeyData, ReadyForQuery (idle). */
export function startupReply(params: Record<string, string>, processId: number, secret: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeUInt32BE(processId, 0);
  key.writeUInt32BE(secret >>> 0, 4);
  return Buffer.concat([
    message('R', Buffer.from([0, 0, 0, 0])),
    ...Object.entries(params).map(([k, v]) => message('S', Buffer.concat([cstr(k), cstr(v)]))),
    message('K', key),
    message('Z', Buffer.from('I')),
  ]);
}

/** ErrorResponse with severity, SQLSTATE and message. */
export function errorResponse(severity: 'ERROR' | 'FATAL', code: string, text: string): Buffer {
  return message(
    'E',
    Buffer.concat([
      Buffer.from('S'),
      cstr(severity),
      Buffer.from('V'),
      cstr(severity),
      Buffer.from('C'),
      cstr(code),
      Buffer.from('M'),
      cstr(text),
      Buffer.from([0]),
    ]),
  );
}
