/**
 * gRPC's length-prefixed messages (PROTOCOL-HTTP2.md, "Length-Prefixed-Message"): one byte of
 * compressed flag, four bytes of big-endian length, the message. HTTP/2 DATA frames do not
 * follow message boundaries: a message may span many chunks and a chunk may hold several
 * messages, so reading is incremental.
 */
import { GrpcStatus } from '../errors';
import { GrpcCallError } from './status';

const HEADER = 5;

/** `message` with its 5-byte prefix (not compressed). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, HEADER);
  return out;
}

/**
 * Splits a stream of chunks into messages. A message is copied at most once: a message inside
 * one chunk is a view of it, one spread over chunks is joined when its last byte arrives. A
 * prefix announcing more than `maxMessageBytes` is refused before any of the body is buffered
 * (RESOURCE_EXHAUSTED, as grpc-js's max_receive_message_length); a compressed message is refused
 * (INTERNAL): no `grpc-accept-encoding` is sent, so a server has no encoding it may use.
 */
export class MessageDeframer {
  /** Chunks of the incomplete message (its prefix included), oldest first. */
  private parts: Buffer[] = [];
  private buffered = 0;
  /** Length of the message being read, once its prefix is complete; -1 before. */
  private need = -1;

  constructor(readonly maxMessageBytes = 4 * 1024 * 1024) {}

  /** Bytes held of a message not yet complete (0 at a message boundary). */
  get pending(): number {
    return this.buffered;
  }

  /** The messages `chunk` completes, in order. Throws GrpcCallError on a refused message. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.buffered === 0) {
        // At a boundary: take whole messages straight out of the chunk.
        const left = chunk.length - pos;
        if (left >= HEADER) {
          const len = this.check(chunk, pos);
          if (left >= HEADER + len) {
            out.push(chunk.subarray(pos + HEADER, pos + HEADER + len));
            pos += HEADER + len;
            continue;
          }
          this.need = len;
        }
        this.parts.push(chunk.subarray(pos));
        this.buffered = left;
        return out;
      }
      // Completing a message begun in an earlier chunk.
      if (this.need < 0) {
        const take = Math.min(HEADER - this.buffered, chunk.length - pos);
        this.parts.push(chunk.subarray(pos, pos + take));
        this.buffered += take;
        pos += take;
        if (this.buffered < HEADER) return out;
        const head = Buffer.concat(this.parts, HEADER);
        this.parts = [head];
        this.need = this.check(head, 0);
      }
      const take = Math.min(HEADER + this.need - this.buffered, chunk.length - pos);
      this.parts.push(chunk.subarray(pos, pos + take));
      this.buffered += take;
      pos += take;
      if (this.buffered < HEADER + this.need) return out;
      const whole = Buffer.concat(this.parts, this.buffered);
      out.push(whole.subarray(HEADER));
      this.parts = [];
      this.buffered = 0;
      this.need = -1;
    }
    return out;
  }

  /** Validates the prefix at `at`; returns the message length. */
  private check(buf: Buffer, at: number): number {
    const flag = buf[at];
    const len = buf.readUInt32BE(at + 1);
    if (flag === 1) throw new GrpcCallError(GrpcStatus.INTERNAL, 'received a compressed message; none was accepted');
    if (flag !== 0) throw new GrpcCallError(GrpcStatus.INTERNAL, `malformed message prefix (flag ${flag})`);
    if (len > this.maxMessageBytes)
      throw new GrpcCallError(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `received a message of ${len} bytes, larger than the maximum of ${this.maxMessageBytes}`,
      );
    return len;
  }
}
