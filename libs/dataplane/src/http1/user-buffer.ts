/**
 * Reading an already accepted `net.Socket` (plaintext, or a `tls.TLSSocket`, whose TLSWrap handle
 * hands over decrypted bytes the same way) into one caller-owned buffer, as net's
 * `onread` option does for sockets it creates: node calls `callback(n)` with the bytes in
 * `buffer[0..n)` and allocates no Buffer, pushes nothing through the Readable stream and
 * emits no 'data' event per read. Accepted sockets are created by `net.Server`, which takes no
 * `onread` option (nor does `new tls.TLSSocket(socket)`), so the socket is switched over the way its constructor would have set it up:
 * node keeps the option under two private symbols (found once, by identity, on a probe socket)
 * and the handle is told with `useUserBuffer`. When any of that is not there (another node),
 * {@link readIntoBuffer} returns false and the caller keeps reading 'data' events.
 */
import net from 'node:net';

interface Keys {
  buffer: symbol;
  callback: symbol;
}

function probeKeys(): Keys | null {
  try {
    const buffer = Buffer.alloc(1);
    const callback = (): boolean => true;
    // @types/node lists `onread` for net.connect() only; the constructor takes it too.
    const s = new net.Socket({ onread: { buffer, callback } } as net.SocketConstructorOpts);
    let kb: symbol | undefined;
    let kc: symbol | undefined;
    const rec = s as unknown as Record<symbol, unknown>;
    for (const sym of Object.getOwnPropertySymbols(s)) {
      if (rec[sym] === buffer) kb = sym;
      else if (rec[sym] === callback) kc = sym;
    }
    s.destroy();
    return kb && kc ? { buffer: kb, callback: kc } : null;
  } catch {
    return null;
  }
}

let keys: Keys | null | undefined;

interface StreamHandle {
  useUserBuffer?: (b: Uint8Array) => unknown;
  _consumed?: boolean;
}

/**
 * Switches `socket` to read into `buffer`, calling `callback(n)` per read (the bytes are valid
 * only until it returns; `false` stops reading until `resume()`). Only for a TCP or TLS
 * socket with nothing buffered in its Readable side and not ended; returns false (and changes
 * nothing) otherwise. End of stream, errors, `pause()`/`resume()` and the socket's timeout keep
 * working as for an `onread` socket. The handle is marked consumed so node's `http.Server`,
 * if the socket is handed to it later, reads 'data' events instead of taking the handle.
 */
export function readIntoBuffer(socket: net.Socket, buffer: Buffer, callback: (n: number) => unknown): boolean {
  if (keys === undefined) keys = probeKeys();
  if (!keys) return false;
  const handle = (socket as net.Socket & { _handle?: StreamHandle | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || handle._consumed) return false;
  if (socket.destroyed || socket.readableEnded || socket.readableLength > 0 || socket.readableEncoding !== null)
    return false;
  const rec = socket as unknown as Record<symbol, unknown>;
  if (rec[keys.buffer]) return false;
  rec[keys.buffer] = buffer;
  rec[keys.callback] = callback;
  handle.useUserBuffer(buffer);
  handle._consumed = true;
  return true;
}
