/**
 * Test helpers for per-connection buffer limits (soft watermarks): a sender that writes for as
 * long as it may, how many bytes it got off its hands, and when it stalled. The kernel's own
 * socket buffers on two loopback hops (a few MiB each way, autotuned) come on top of what the
 * proxy holds, hence the allowance. Not part of the runtime path.
 */
import type net from 'node:net';

export const MiB = 1024 * 1024;
/** What loopback kernel buffers may hold on a sender→proxy→receiver path, on top of the proxy. */
export const KERNEL_ALLOWANCE = 16 * MiB;
/** A limit well above the kernel's share, and one well below it. */
export const BIG = 16 * MiB;
export const SMALL = 64 * 1024;

/** Bytes a socket has handed to the kernel. */
export const sent = (s: net.Socket) => s.bytesWritten - s.writableLength;

/** Writes 64 KiB chunks into `w` whenever it drains, for as long as `more()` says and `w` lives. */
export function keepWriting(
  w: NodeJS.WritableStream & { destroyed?: boolean },
  more: () => boolean = () => true,
): void {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const go = () => {
    while (more() && !w.destroyed) if (!w.write(chunk)) return void w.once('drain', go);
  };
  go();
}

/** Resolves once `value()` has not grown across `polls` successive polls 250 ms apart (the sender stalled). */
export async function stalled(value: () => number, polls = 8): Promise<number> {
  let last = -1;
  let same = 0;
  for (;;) {
    const v = value();
    same = v === last ? same + 1 : 0;
    if (same >= polls) return v;
    last = v;
    await new Promise((r) => setTimeout(r, 250));
  }
}
