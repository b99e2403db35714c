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

  /** `reuse`: a buffer to write into (its old bytes are overwritten), used when at least `initial` long. */
  constructor(initial = 512, reuse?: Buffer) {
    this.buf = reuse !== undefined && reuse.length >= initial ? reuse : Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer. */
  varint(v: number): void {
    if (v < 0x80 && this.pos < this.buf.length) {
      this.buf[this.pos++] = v;
      return;
    }
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

  /**
   * A message `{1: a, 2: b}` of two varints (a map<sint32, sint32> entry, values already
   * zigzag-encoded, each < 2^32) as field 1 of the message being written.
   */
  pairEntry(a: number, b: number): void {
    this.room(14);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x0a;
    buf[p++] =
      2 +
      (a < 0x80 ? 1 : a < 0x4000 ? 2 : a < 0x200000 ? 3 : a < 0x10000000 ? 4 : 5) +
      (b < 0x80 ? 1 : b < 0x4000 ? 2 : b < 0x200000 ? 3 : b < 0x10000000 ? 4 : 5);
    buf[p++] = 0x08;
    while (a >= 0x80) {
      buf[p++] = (a & 0x7f) | 0x80;
      a >>>= 7;
    }
    buf[p++] = a;
    buf[p++] = 0x10;
    while (b >= 0x80) {
      buf[p++] = (b & 0x7f) | 0x80;
      b >>>= 7;
    }
    buf[p++] = b;
    this.pos = p;
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
    const len = s.length;
    if (len < 0x80) {
      // a short ASCII string (most words and header values): its bytes are its char codes
      this.room(len + 1);
      const buf = this.buf;
      const at = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === len) {
        buf[this.pos] = len;
        this.pos = at + len;
        return;
      }
    }
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
