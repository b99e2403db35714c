/**
 * A growable protobuf writer with just the wire primitives the Mixer v1 messages
 * need. Used by the direct codecs (CheckRequest on the proxy, CheckResponse in
 * Mixer), which write the same bytes the generic proto-loader encoder writes
 * without building the intermediate object form.
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 512) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer. */
  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** int64/int32 varint: negatives as 64-bit two's complement (10 bytes), as protobuf does. */
  int64(v: number): void {
    if (v >= 0) return this.varint(v);
    let b = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    this.room(10);
    while (b >= 0x80n) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  sint32(v: number): void {
    this.varint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  double(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.room(n);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
  }

  /**
   * Starts a length-delimited field; returns the mark to pass to `end`. One byte is
   * reserved for the length; a longer body is moved up in place when it ends.
   */
  begin(field: number): number {
    this.tag(field, LEN);
    this.room(1);
    return this.pos++;
  }

  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    let extra = 0;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) extra++;
    this.room(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    const end = this.pos + extra;
    this.pos = mark;
    this.varint(len);
    this.pos = end;
  }

  /** Writes a length-delimited field whose body `body` writes. */
  nested(field: number, body: () => void): void {
    const mark = this.begin(field);
    body();
    this.end(mark);
  }

  /**
   * A google.protobuf.Timestamp or Duration as message `field`: seconds = 1, nanos = 2, zeros left
   * out as proto3 does. The caller splits the time (Timestamp keeps nanos ≥ 0, Duration gives both
   * parts the same sign).
   */
  secondsNanos(field: number, seconds: number, nanos: number): void {
    const mark = this.begin(field);
    if (seconds !== 0) {
      this.tag(1, VARINT);
      this.int64(seconds);
    }
    if (nanos !== 0) {
      this.tag(2, VARINT);
      this.int64(nanos);
    }
    this.end(mark);
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
