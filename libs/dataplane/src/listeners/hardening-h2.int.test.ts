/**
 * HTTP/2 hardening over a raw socket: frames are written by hand (h2c prior knowledge), because
 * node's own client refuses to exceed the limits these tests need to cross.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  until,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

const { constants: c } = http2;
const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
/**
 * Frames in a flood: node reads up to 64 KiB at a time, so 10,000 small control frames put well
 * over nghttp2's 1,000 queued ACKs (Envoy's max_outbound_control_frames default) into one read.
 */
const FLOOD = 10_000;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK string literal without Huffman coding (all strings here are shorter than 127 bytes). */
function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/**
 * A GET request block: `:method GET` and `:scheme http` from the static table (indexed), `:path`
 * (static index 4) and `:authority` (index 1) as literals without indexing.
 */
function getRequestBlock(path: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x82, 0x86]),
    Buffer.from([0x04]),
    hpackString(path),
    Buffer.from([0x01]),
    hpackString('h2.test'),
  ]);
}

/** An h2c connection that records every frame the proxy sends and whether it closed. */
class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  private buffered = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** Connects, sends the preface and an empty SETTINGS, and (unless told not to) ACKs the proxy's SETTINGS. */
  static async open(address: string, opts: { ackSettings?: boolean } = {}): Promise<RawH2> {
    const [host, port] = address.split(':');
    const socket = net.connect(Number(port), host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const conn = new RawH2(socket);
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    await until(() => conn.frames.some((f) => f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)));
    if (opts.ackSettings !== false) conn.send(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    return conn;
  }

  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  get(streamId: number): void {
    this.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, streamId, getRequestBlock('/hang')));
  }

  of(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** The error code of the proxy's GOAWAY, if it sent one. */
  goawayCode(): number | undefined {
    const g = this.of(FRAME.GOAWAY)[0];
    return g ? g.payload.readUInt32BE(4) : undefined;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) return;
      this.frames.push({
        type: this.buffered[3],
        flags: this.buffered[4],
        streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
        payload: this.buffered.subarray(9, 9 + length),
      });
      this.buffered = this.buffered.subarray(9 + length);
    }
  }
}

describe('HTTP/2 hardening (raw frames over h2c)', () => {
  let dp: Dataplane;
  let u: TestUpstream;
  let addr: string;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    u = await startUpstream('u', (req, res) => {
      if (req.url === '/hang') held.push(res);
      else res.end('served');
    });
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`,
        ],
        clusters: [staticClusterYaml('c', [u.address])],
      }),
    );
    addr = dp.address('l') as string;
  });
  afterAll(async () => {
    await dp.stop();
    await u.close();
  });
  afterEach(() => {
    for (const res of held.splice(0)) res.end('released');
  });

  /** Another client, on its own connection, is still answered. */
  async function othersServed(): Promise<void> {
    expect((await httpRequest(`http://${addr}/ok`)).body).toBe('served');
    const s = http2.connect(`http://${addr}`);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const st = s.request({ ':path': '/ok' });
        let text = '';
        st.setEncoding('utf8');
        st.on('data', (d: string) => (text += d));
        st.on('end', () => resolve(text));
        st.on('error', reject);
      });
      expect(body).toBe('served');
    } finally {
      s.close();
    }
  }

  /** Frames of `type` on `streamId`. */
  const on = (conn: RawH2, type: number, streamId: number) => conn.of(type).filter((f) => f.streamId === streamId);

  it('refuses a 101st concurrent stream with REFUSED_STREAM while the 100 in flight finish', async () => {
    // Before the client acknowledges SETTINGS, nghttp2 enforces the advertised 100 per stream.
    const conn = await RawH2.open(addr, { ackSettings: false });
    for (let i = 0; i < 100; i++) conn.get(1 + 2 * i);
    await until(() => held.length === 100);
    conn.get(201);
    await until(() => on(conn, FRAME.RST_STREAM, 201).length === 1);
    expect(on(conn, FRAME.RST_STREAM, 201)[0].payload.readUInt32BE(0)).toBe(c.NGHTTP2_REFUSED_STREAM);
    for (const res of held.splice(0)) res.end('released');
    await until(() => conn.of(FRAME.HEADERS).length === 100);
    expect(conn.of(FRAME.RST_STREAM)).toHaveLength(1);
    expect(conn.closed).toBe(false);
    expect(u.requests.filter((r) => r.url === '/hang')).toHaveLength(100);
    conn.close();
    await othersServed();
  });

  it('ends a connection that exceeds the acknowledged limit of 100 streams; the 101st never goes upstream', async () => {
    // Once SETTINGS are acknowledged, nghttp2 treats a 101st stream as a connection error.
    const conn = await RawH2.open(addr);
    for (let i = 0; i < 100; i++) conn.get(1 + 2 * i);
    await until(() => held.length === 100);
    const before = u.requests.length;
    conn.get(201);
    await until(() => conn.closed);
    expect(conn.of(FRAME.HEADERS)).toHaveLength(0);
    expect(u.requests.length).toBe(before);
    await othersServed();
  });

  it('ends a connection that sends PINGs faster than they are answered (over 1,000 ACKs queued: GOAWAY)', async () => {
    const conn = await RawH2.open(addr);
    const ping = frame(FRAME.PING, 0, 0, Buffer.alloc(8));
    conn.send(Buffer.concat(Array.from({ length: FLOOD }, () => ping)));
    await until(() => conn.closed);
    expect(conn.goawayCode()).toBe(c.NGHTTP2_INTERNAL_ERROR);
    expect(conn.of(FRAME.PING).length).toBeLessThan(FLOOD);
    await othersServed();
  });

  it('answers a burst of 500 PINGs (under the flood limit)', async () => {
    const conn = await RawH2.open(addr);
    const ping = frame(FRAME.PING, 0, 0, Buffer.alloc(8));
    conn.send(Buffer.concat(Array.from({ length: 500 }, () => ping)));
    await until(() => conn.of(FRAME.PING).length === 500);
    expect(conn.of(FRAME.PING).every((f) => f.flags & FLAG.ACK)).toBe(true);
    expect(conn.goawayCode()).toBeUndefined();
    conn.close();
  });

  it('ends a connection that floods SETTINGS frames (GOAWAY)', async () => {
    const conn = await RawH2.open(addr);
    const settings = frame(FRAME.SETTINGS, 0, 0);
    conn.send(Buffer.concat(Array.from({ length: FLOOD }, () => settings)));
    await until(() => conn.closed);
    expect(conn.goawayCode()).toBe(c.NGHTTP2_INTERNAL_ERROR);
    await othersServed();
  });
});
