/**
 * A protobuf reader over a Buffer for the direct Mixer v1 codecs. Numbers come
 * back as JS numbers the way proto-loader's `longs: Number` gives them (int64 =
 * high * 2^32 + low, signed). Malformed input throws DecodeError (a bad request,
 * answered INVALID_ARGUMENT), never a RangeError from the Buffer.
 */
import { DecodeError } from '../compressed';

export class ProtoReader {
  pos: number;
  /** Low and high 32 bits of the last varint read by `varint64`. */
  private lo = 0;
  private hi = 0;

  constructor(
    readonly buf: Buffer,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private truncated(): never {
    throw new DecodeError(`truncated or malformed protobuf at byte ${this.pos}`);
  }

  /** Reads a varint of up to 10 bytes into lo/hi. */
  private varint64(): void {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (this.pos >= this.end) this.truncated();
      const byte = b[this.pos++];
      lo = (lo | ((byte & 0x7f) << (i * 7))) >>> 0;
      if (byte < 0x80) {
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    // byte 5 straddles the two halves
    if (this.pos >= this.end) this.truncated();
    let byte = b[this.pos++];
    lo = (lo | ((byte & 0x7f) << 28)) >>> 0;
    hi = (byte & 0x7f) >> 4;
    if (byte < 0x80) {
      this.lo = lo;
      this.hi = hi;
      return;
    }
    for (i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.truncated();
      byte = b[this.pos++];
      hi = (hi | ((byte & 0x7f) << (i * 7 + 3))) >>> 0;
      if (byte < 0x80) {
        this.lo = lo;
        this.hi = hi;
        return;
      }
    }
    this.truncated();
  }

  /** A tag or a length: uint32. */
  uint32(): number {
    const b = this.buf;
    // fast path: one byte
    if (this.pos < this.end && b[this.pos] < 0x80) return b[this.pos++];
    this.varint64();
    return this.lo;
  }

  int32(): number {
    this.varint64();
    return this.lo | 0;
  }

  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  int64(): number {
    this.varint64();
    return (this.hi | 0) * 4294967296 + this.lo;
  }

  bool(): boolean {
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.truncated();
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Length of a length-delimited field; the body is [pos, pos + length). */
  length(): number {
    const n = this.uint32();
    if (this.pos + n > this.end) this.truncated();
    return n;
  }

  string(): string {
    const n = this.length();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A copy of a bytes field (the request buffer is not kept). */
  bytes(): Uint8Array {
    const n = this.length();
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** Skips one field of the given wire type. */
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint64();
        return;
      case 1:
        if (this.pos + 8 > this.end) this.truncated();
        this.pos += 8;
        return;
      case 2: {
        const n = this.length();
        this.pos += n;
        return;
      }
      case 5:
        if (this.pos + 4 > this.end) this.truncated();
        this.pos += 4;
        return;
      default:
        throw new DecodeError(`unsupported protobuf wire type ${wire} at byte ${this.pos}`);
    }
  }
}
