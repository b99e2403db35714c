import type net from 'node:net';

/**
 * A chunked HTTP/1.1 response (two chunks, then a trailer `x-t`) whose head and body name `id`:
 * the bytes a test writes in small pieces to exercise parsers that must hold partial input.
 */
export function chunkedResponseWithTrailer(id: string): string {
  const body = `body-${id}-`.repeat(50);
  const half = body.length >> 1;
  return (
    `HTTP/1.1 200 OK\r\nx-id: ${id}\r\ntransfer-encoding: chunked\r\n\r\n` +
    `${half.toString(16)}\r\n${body.slice(0, half)}\r\n` +
    `${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\nx-t: ${id}\r\n\r\n`
  );
}

/** Writes `text` `piece` bytes at a time, one write per millisecond, until done or the socket is gone. */
export function trickle(socket: net.Socket, text: string, piece: number): void {
  let at = 0;
  const step = () => {
    if (socket.destroyed) return;
    socket.write(text.slice(at, at + piece));
    at += piece;
    if (at < text.length) setTimeout(step, 1);
  };
  step();
}
