// Test helpers for the Mixer filters: a scripted Mixer on loopback and a clock that records its
// sleeps. The Mixer is a bare node:http2 server so that it keeps no deadline of its own (grpc-js
// would end the call itself at the grpc-timeout it was sent) and its answers are exactly what the
// test says.
import http2 from 'node:http2';
import { FakeClock, GrpcStatus } from '@tsmesh/core';
import { mixerServiceDefinition } from '@tsmesh/protocol';

/** What the scripted Mixer does with one call. */
export type Answer = 'hang' | { code: number; message?: string } | { check: Record<string, unknown> };

export interface SeenCall {
  path: string;
  grpcTimeout: string;
  /** The request message (without its 5-byte gRPC prefix), once the client has sent it all. */
  message?: Buffer;
}

const checkResponseBytes = (res: Record<string, unknown>): Buffer =>
  (mixerServiceDefinition()['Check'].responseSerialize as (r: unknown) => Buffer)(res);

/** A length-prefixed gRPC message (uncompressed). */
function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

export class ScriptedMixer {
  readonly calls: SeenCall[] = [];
  /** The answer to the n-th call; past its end, the last one. */
  script: Answer[] = [{ check: {} }];
  address = '';
  private readonly server = http2.createServer();
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  async start(): Promise<void> {
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
    });
    this.server.on('stream', (stream, headers) => this.serve(stream, headers));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    this.address = `127.0.0.1:${port}`;
  }

  private serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const call: SeenCall = { path: String(headers[':path']), grpcTimeout: String(headers['grpc-timeout']) };
    const answer = this.script[Math.min(this.calls.length, this.script.length - 1)];
    this.calls.push(call);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    // a client that gives up resets the stream; nothing more to do then
    stream.on('error', () => undefined);
    stream.on('end', () => {
      call.message = Buffer.concat(chunks).subarray(5);
      if (answer === 'hang') return;
      if ('code' in answer) {
        // trailers-only: the status in the only HEADERS frame
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': String(answer.code),
            'grpc-message': answer.message ?? '',
          },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      // ReportResponse has no fields: an empty message
      stream.end(grpcFrame(call.path.endsWith('/Check') ? checkResponseBytes(answer.check) : Buffer.alloc(0)));
    });
  }

  reset(script: Answer[]): void {
    this.calls.length = 0;
    this.script = script;
  }

  stop(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A fake clock whose sleeps are recorded and end at once: backoff delays are read, not waited for. */
export class RecordingClock extends FakeClock {
  readonly sleeps: number[] = [];
  override sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.advance(ms);
    return Promise.resolve();
  }
}

export const OK_ANSWER: Answer = {
  check: { precondition: { status: { code: 0 }, valid_duration: { seconds: 5 }, valid_use_count: 3 } },
};
export const unavailable = (message = 'mixer is draining'): Answer => ({ code: GrpcStatus.UNAVAILABLE, message });
