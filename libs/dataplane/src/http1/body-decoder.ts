/**
 * Incremental request-body decoder for the downstream HTTP/1.1 codec: Content-Length or chunked
 * framing, fed whatever the socket delivers. Body bytes are handed on as they arrive (slices of
 * the input, never copied); chunk-size lines and trailers split across reads are held (bounded).
 */
import { parseChunkSize } from './request-head';

const CRLF = Buffer.from('\r\n');
const CRLF2 = Buffer.from('\r\n\r\n');
/** A chunk-size line (size + extensions) longer than this is refused. */
const MAX_SIZE_LINE = 4096;

export class BodyDecoder {
  private state: 'length' | 'size' | 'data' | 'crlf' | 'trailers' | 'done';
  private remaining: number;
  private partial: Buffer | null = null;
  /** Why the body was refused (set when `feed` returns -1). */
  error = '';

  constructor(
    framing: 'length' | 'chunked',
    contentLength: number,
    private readonly maxTrailerBytes: number,
  ) {
    this.state = framing === 'length' ? 'length' : 'size';
    this.remaining = contentLength;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Consumes body bytes from `data[start..]`, calling `onChunk` for each piece of body. Returns
   * the offset in `input` just after the body when it ended, `input.length` when everything was consumed
   * and more is needed, or -1 on a framing error (`error` says which).
   */
  feed(input: Buffer, start: number, onChunk: (b: Buffer) => void): number {
    let data = input;
    let pos = start;
    // Offset of `data` in `input` (negative when held bytes were put in front).
    let base = 0;
    if (this.partial) {
      data = Buffer.concat([this.partial, input.subarray(start)]);
      base = start - this.partial.length;
      pos = 0;
      this.partial = null;
    }
    while (pos < data.length && this.state !== 'done') {
      switch (this.state) {
        case 'length':
        case 'data': {
          const n = Math.min(this.remaining, data.length - pos);
          onChunk(pos === 0 && n === data.length ? data : data.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = this.state === 'length' ? 'done' : 'crlf';
          break;
        }
        case 'crlf': {
          if (data.length - pos < 2) return this.hold(data, pos, input.length);
          if (data[pos] !== 13 || data[pos + 1] !== 10) return this.fail('bad chunk terminator');
          pos += 2;
          this.state = 'size';
          break;
        }
        case 'size': {
          const nl = data.indexOf(CRLF, pos);
          if (nl < 0) {
            if (data.length - pos > MAX_SIZE_LINE) return this.fail('chunk size line too long');
            return this.hold(data, pos, input.length);
          }
          if (nl - pos > MAX_SIZE_LINE) return this.fail('chunk size line too long');
          const size = parseChunkSize(data.toString('latin1', pos, nl));
          if (size < 0) return this.fail('bad chunk size');
          pos = nl + 2;
          this.remaining = size;
          this.state = size === 0 ? 'trailers' : 'data';
          break;
        }
        case 'trailers': {
          // Trailer fields are read and dropped (nothing upstream consumes request trailers).
          if (data.length - pos >= 2 && data[pos] === 13 && data[pos + 1] === 10) {
            pos += 2;
            this.state = 'done';
            break;
          }
          const end = data.indexOf(CRLF2, pos);
          if (end < 0) {
            if (data.length - pos > this.maxTrailerBytes) return this.fail('trailers too large');
            return this.hold(data, pos, input.length);
          }
          const text = data.toString('latin1', pos, end);
          if (/[\0\r\n]/.test(text.replace(/\r\n/g, '')) || /(^|\r\n)[ \t]/.test(text)) return this.fail('bad trailer');
          pos = end + 4;
          this.state = 'done';
          break;
        }
      }
    }
    return pos + base;
  }

  /** Keeps an incomplete line for the next read; everything given was consumed. */
  private hold(data: Buffer, pos: number, consumed: number): number {
    this.partial = Buffer.from(data.subarray(pos));
    return consumed;
  }

  private fail(reason: string): number {
    this.error = reason;
    return -1;
  }
}
