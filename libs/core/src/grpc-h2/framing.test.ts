import { GrpcStatus } from '../errors';
import { frameMessage, MessageDeframer } from './framing';
import { GrpcCallError } from './status';

const msg = (n: number, fill: number) => Buffer.alloc(n, fill);
const stream = (...messages: Buffer[]) => Buffer.concat(messages.map(frameMessage));

/** Feeds `data` to a deframer cut at `cuts` (offsets); returns the messages as they came out. */
function feed(data: Buffer, cuts: number[], d = new MessageDeframer()): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    out.push(...d.push(data.subarray(at, cut)));
    at = cut;
  }
  return out;
}

test('frameMessage: flag 0, big-endian length, the message', () => {
  expect(frameMessage(Buffer.from('abc'))).toEqual(Buffer.from([0, 0, 0, 0, 3, 0x61, 0x62, 0x63]));
  expect(frameMessage(new Uint8Array(0))).toEqual(Buffer.from([0, 0, 0, 0, 0]));
  expect(frameMessage(msg(70_000, 1)).readUInt32BE(1)).toBe(70_000);
});

test('several messages in one chunk, an empty one among them', () => {
  const d = new MessageDeframer();
  const out = d.push(stream(msg(3, 1), Buffer.alloc(0), msg(10, 2)));
  expect(out).toEqual([msg(3, 1), Buffer.alloc(0), msg(10, 2)]);
  expect(d.pending).toBe(0);
});

test('every cut of a stream of three messages into two chunks gives the same messages', () => {
  const messages = [msg(1, 1), msg(0, 0), msg(7, 3)];
  const data = stream(...messages);
  for (let cut = 0; cut <= data.length; cut++) expect(feed(data, [cut])).toEqual(messages);
});

test('a message arriving a byte at a time, prefix included', () => {
  const data = stream(msg(20, 9), msg(2, 8));
  const d = new MessageDeframer();
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i++) {
    out.push(...d.push(data.subarray(i, i + 1)));
    if (i === 3) expect(d.pending).toBe(4); // inside the first prefix
  }
  expect(out).toEqual([msg(20, 9), msg(2, 8)]);
  expect(d.pending).toBe(0);
});

test('a large message over many chunks ends a chunk that starts the next one', () => {
  const big = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
  const data = stream(big, msg(5, 7));
  const cuts = Array.from({ length: Math.floor(data.length / 16_384) }, (_, i) => (i + 1) * 16_384);
  const out = feed(data, cuts);
  expect(out).toHaveLength(2);
  expect(out[0].equals(big)).toBe(true);
  expect(out[1]).toEqual(msg(5, 7));
});

test('messages that fit in a chunk are views of it, not copies', () => {
  const chunk = stream(msg(4, 1), msg(4, 2));
  const [a, b] = new MessageDeframer().push(chunk);
  expect(a.buffer).toBe(chunk.buffer);
  expect(b.buffer).toBe(chunk.buffer);
});

const refusal = (f: () => unknown): GrpcCallError => {
  try {
    f();
  } catch (e) {
    return e as GrpcCallError;
  }
  throw new Error('expected a refusal');
};

test('a length over the limit is refused from its prefix alone (RESOURCE_EXHAUSTED)', () => {
  const d = new MessageDeframer(1000);
  expect(d.push(stream(msg(1000, 1)))).toHaveLength(1);
  const prefix = frameMessage(msg(1001, 1)).subarray(0, 5);
  const e = refusal(() => d.push(prefix));
  expect(e).toBeInstanceOf(GrpcCallError);
  expect(e.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  expect(e.details).toBe('received a message of 1001 bytes, larger than the maximum of 1000');
  // the same when the prefix comes in pieces
  const d2 = new MessageDeframer(1000);
  d2.push(prefix.subarray(0, 2));
  expect(refusal(() => d2.push(prefix.subarray(2))).code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
});

test('a compressed message or a bad flag is refused (INTERNAL)', () => {
  const compressed = frameMessage(msg(3, 1));
  compressed[0] = 1;
  const e = refusal(() => new MessageDeframer().push(compressed));
  expect(e.code).toBe(GrpcStatus.INTERNAL);
  expect(e.details).toMatch(/compressed/);
  const bad = frameMessage(msg(3, 1));
  bad[0] = 0x80;
  expect(refusal(() => new MessageDeframer().push(bad)).details).toMatch(/flag 128/);
});

test('pending counts the bytes of an unfinished message', () => {
  const d = new MessageDeframer();
  const data = stream(msg(10, 1));
  d.push(data.subarray(0, 8));
  expect(d.pending).toBe(8);
  d.push(data.subarray(8));
  expect(d.pending).toBe(0);
});
