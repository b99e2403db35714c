/**
 * Runs the planned processes: logs to `<logs>/<name>.log`, learns listener
 * addresses from `{"msg":"listening"}` lines, reports readiness, restarts a
 * crashed process with exponential backoff, and stops everything gracefully
 * (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { ProcessSpec } from './plan';

export type ProcStatus = 'starting' | 'ready' | 'backoff' | 'stopped';

export interface Managed {
  spec: ProcessSpec;
  child: ChildProcess | null;
  pid: number | null;
  status: ProcStatus;
  restarts: number;
  listeners: Record<string, string>;
  lastExit?: string;
  startedAt: number;
  log: string;
}

export interface SupervisorOptions {
  logsDir: string;
  /** Progress and crash reports for the user. */
  report(line: string): void;
  onChange?(): void;
  graceMs?: number;
  maxBackoffMs?: number;
}

function probe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export class Supervisor {
  readonly procs = new Map<string, Managed>();
  private stopping = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly o: SupervisorOptions) {
    mkdirSync(o.logsDir, { recursive: true });
  }

  start(spec: ProcessSpec): Managed {
    const m: Managed = {
      spec,
      child: null,
      pid: null,
      status: 'starting',
      restarts: 0,
      listeners: {},
      startedAt: Date.now(),
      log: join(this.o.logsDir, `${spec.name}.log`),
    };
    this.procs.set(spec.name, m);
    this.launch(m);
    return m;
  }

  private launch(m: Managed): void {
    const out: WriteStream = createWriteStream(m.log, { flags: 'a' });
    const child = spawn(process.execPath, [...(m.spec.nodeArgs ?? []), m.spec.main, ...m.spec.args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...m.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: a terminal's Ctrl-C reaches only the supervisor, which stops children in order.
      detached: true,
    });
    m.child = child;
    m.pid = child.pid ?? null;
    m.status = 'starting';
    m.listeners = {};
    m.startedAt = Date.now();
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      out.write(c);
      buf += c.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"listening"')) continue;
        try {
          const j = JSON.parse(line) as { listener?: string; address?: string };
          if (j.address) m.listeners[j.listener ?? 'default'] = j.address;
          if (!m.spec.readyUrl && m.status === 'starting') this.setStatus(m, 'ready');
        } catch {
          // not a JSON line
        }
      }
    });
    child.stderr?.on('data', (c: Buffer) => out.write(c));
    if (m.spec.readyUrl) void this.pollReady(m, child);
    child.once('exit', (code, signal) => {
      out.end();
      m.child = null;
      m.pid = null;
      m.lastExit = signal ? `signal ${signal}` : `exit code ${code}`;
      if (this.stopping) {
        this.setStatus(m, 'stopped');
        return;
      }
      if (Date.now() - m.startedAt > 30_000) m.restarts = 0;
      const delay = Math.min(this.o.maxBackoffMs ?? 30_000, 500 * 2 ** m.restarts);
      m.restarts++;
      this.o.report(
        `✗ ${m.spec.name} exited (${m.lastExit}); restarting in ${(delay / 1000).toFixed(1)}s — see ${m.log}`,
      );
      this.setStatus(m, 'backoff');
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.stopping && this.procs.get(m.spec.name) === m) this.launch(m);
      }, delay);
      this.timers.add(t);
    });
  }

  private async pollReady(m: Managed, child: ChildProcess): Promise<void> {
    while (m.child === child && m.status === 'starting' && !this.stopping) {
      if (await probe(m.spec.readyUrl as string)) {
        if (m.child === child) this.setStatus(m, 'ready');
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private setStatus(m: Managed, s: ProcStatus): void {
    m.status = s;
    this.o.onChange?.();
  }

  /** Stops one process and starts it again with a new spec (an applied Deployment changed its env). */
  async replace(spec: ProcessSpec): Promise<void> {
    const m = this.procs.get(spec.name);
    if (m) {
      this.procs.delete(spec.name);
      await this.kill(m);
    }
    this.start(spec);
  }

  private kill(m: Managed): Promise<void> {
    const child = m.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const hard = setTimeout(() => child.kill('SIGKILL'), this.o.graceMs ?? 10_000);
      child.once('exit', () => {
        clearTimeout(hard);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  async waitReady(names: string[], timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waiting = names.filter((n) => this.procs.get(n)?.status !== 'ready');
      if (waiting.length === 0 || Date.now() > deadline || this.stopping) return waiting;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.procs.values()].map((m) => this.kill(m)));
    for (const m of this.procs.values()) m.status = 'stopped';
  }
}
