/** Server roles shared by the proxy benchmarks (each runs in its own process). */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { launchNodeArgs } from '../../apps/cli/src/plan';

export const BODY = 'hello world\n';

/** Listens on a free loopback port and prints `{"port":N}` for the parent. */
export function announce(server: http.Server): void {
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
}

/** The upstream app: 200 with a 12-byte body. */
export function roleUpstream(): void {
  announce(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
      res.end(BODY);
    }),
  );
}

/** A Zipkin collector that accepts and drops spans. */
export function roleZipkin(): void {
  announce(
    http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(202).end());
    }),
  );
}

/**
 * CPU time a role's process has used so far, in ms: its own process.cpuUsage asked over IPC (the
 * role answers `cpu`), else /proc/<pid>/stat utime + stime (10 ms ticks); NaN once it is gone.
 */
export function cpuMs(child: ChildProcess): Promise<number> {
  if (child.connected)
    return new Promise((resolve) => {
      const on = (m: { cpu?: number }) => {
        if (typeof m?.cpu !== 'number') return;
        child.off('message', on);
        resolve(m.cpu / 1000);
      };
      child.on('message', on);
      child.send('cpu');
    });
  try {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Promise.resolve((Number(f[11]) + Number(f[12])) * 10);
  } catch {
    return Promise.resolve(NaN);
  }
}

/**
 * A built Mixer (`main`) with `args`, its stdout in `logFile`; resolves once every listener named
 * in `listeners` has logged its address (then `addresses` maps listener → host:port). It starts as
 * shipped, with the node flags of the launch.json beside `main` (launchNodeArgs, as `tsmesh up`); `nodeArgs` go
 * after them, before the script (e.g. `--cpu-prof`).
 */
export function startMixerProcess(opts: {
  main: string;
  args: string[];
  logFile: string;
  listeners: string[];
  nodeArgs?: string[];
}): Promise<{ child: ChildProcess; addresses: Record<string, string> }> {
  const fd = openSync(opts.logFile, 'w');
  const child = spawn(
    process.execPath,
    [...launchNodeArgs(dirname(opts.main)), ...(opts.nodeArgs ?? []), opts.main, ...opts.args],
    {
      stdio: ['ignore', fd, 'inherit'],
    },
  );
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const addresses: Record<string, string> = {};
      for (const m of readFileSync(opts.logFile, 'utf8').matchAll(/"listener":"([^"]+)","address":"([^"]+)"/g))
        addresses[m[1]] = m[2];
      if (opts.listeners.every((l) => addresses[l])) {
        clearInterval(t);
        resolve({ child, addresses });
      }
    }, 50);
    child.once('exit', (c) => {
      clearInterval(t);
      // After start-up this rejects nothing; the bench may have removed the log's folder by then.
      const tail = existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8').slice(-400) : '(log removed)';
      reject(new Error(`${opts.main} exited ${c}: ${tail}`));
    });
  });
}
