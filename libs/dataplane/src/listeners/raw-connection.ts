/**
 * Test helper: a keep-alive HTTP/1.1 client on one raw connection (plain or TLS) that records
 * what it receives and when the proxy closes it. Not part of the runtime path.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface RawResponse {
  head: string;
  body: string;
}

/** A keep-alive HTTP/1.1 client on one raw connection, recording when the proxy closes it. */
export class RawConnection {
  readonly socket: net.Socket;
  closed = false;
  /** Everything received so far. */
  received = '';
  private buf = '';
  private waiter: ((r: RawResponse) => void) | null = null;
  readonly closedPromise: Promise<void>;

  constructor(address: string, onClose: () => void, ca?: string) {
    const [host, port] = address.split(':');
    this.socket =
      ca === undefined
        ? net.connect(Number(port), host)
        : tls.connect({ port: Number(port), host, ca, servername: 'a.example.com' });
    this.socket.setEncoding('utf8');
    this.socket.on('error', () => undefined);
    this.socket.on('data', (c: string) => {
      this.buf += c;
      this.received += c;
      this.tryParse();
    });
    this.closedPromise = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closed = true;
        onClose();
        resolve();
      }),
    );
  }

  /** Sends one request and resolves with its complete (content-length framed) response. */
  get(path: string): Promise<RawResponse> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nhost: a\r\n\r\n`);
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.tryParse();
    });
  }

  private tryParse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (!this.waiter || end < 0) return;
    const head = this.buf.slice(0, end);
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buf.length < end + 4 + len) return;
    const body = this.buf.slice(end + 4, end + 4 + len);
    this.buf = this.buf.slice(end + 4 + len);
    const w = this.waiter;
    this.waiter = null;
    w({ head, body });
  }
}
