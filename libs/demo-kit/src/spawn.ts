/**
 * Test helper: bundles a demo entry point (`src/main.ts`) with esbuild and runs
 * it as a real child process, returning its `listening` address. Used where
 * Jest's VM cannot host a dependency (PGlite's dynamic imports) and for
 * process-level checks (flags, SIGTERM). esbuild is loaded lazily so apps that
 * bundle demo-kit never load it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DemoProcess {
  address: string;
  logs: string[];
  child: ChildProcess;
  stop(): Promise<number | null>;
}

export async function bundleEntry(entry: string): Promise<{ file: string; cleanup(): void }> {
  const esbuild = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'demo-bundle-'));
  const file = join(dir, 'main.js');
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: file,
    packages: 'external',
    tsconfig: join(__dirname, '../../../tsconfig.base.json'),
    logLevel: 'silent',
  });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the bundled entry and resolves once it logs its listening line. */
export async function startDemoProcess(
  entry: string,
  options: { args?: string[]; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<DemoProcess> {
  const bundle = await bundleEntry(entry);
  const child = spawn(process.execPath, [bundle.file, ...(options.args ?? [])], {
    // The bundle lives in a temp dir; NODE_PATH lets it find the workspace's node_modules.
    env: { PATH: process.env['PATH'] ?? '', NODE_PATH: join(__dirname, '../../../node_modules'), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not log "listening":\n${logs.join('\n')}`)),
      options.timeoutMs ?? 20_000,
    );
    const onLine = (line: string) => {
      logs.push(line);
      if (!line.includes('"listening"')) return;
      try {
        const j = JSON.parse(line) as { address?: string };
        if (j.address) {
          clearTimeout(timer);
          resolve(j.address);
        }
      } catch {
        // not JSON
      }
    };
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      parts.forEach(onLine);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => logs.push(c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${logs.join('\n')}`));
    });
  }).catch((e: unknown) => {
    child.kill('SIGKILL');
    bundle.cleanup();
    throw e;
  });
  return {
    address,
    logs,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(kill);
      bundle.cleanup();
      return code;
    },
  };
}
