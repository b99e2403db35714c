// The supervisor's command line: a spec's node flags go before its main.js.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor } from './supervisor';

test('a process starts as node <spec.nodeArgs> <main> <args>: the flags reach node, the args the script', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsmesh-supervisor-'));
  const main = join(dir, 'main.js');
  // prints what node and the script were given, then a listening line (ready)
  writeFileSync(
    main,
    `console.log(JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2) }));
     console.log(JSON.stringify({ msg: 'listening', listener: 'x', address: '127.0.0.1:1' }));
     setInterval(() => {}, 1000);`,
  );
  const sup = new Supervisor({ logsDir: join(dir, 'logs'), report: () => undefined, graceMs: 2000 });
  try {
    sup.start({
      name: 'p',
      role: 'control-plane',
      pod: 'p',
      namespace: 'default',
      ip: '127.0.0.1',
      main,
      args: ['--mode', 'telemetry'],
      env: {},
      nodeArgs: ['--no-memory-reducer', '--stack-size=900'],
    });
    expect(await sup.waitReady(['p'], 10_000)).toEqual([]);
    // the log is written asynchronously: wait for the first line
    let log = '';
    for (let i = 0; i < 100 && !log.includes('\n'); i++) {
      log = readFileSync(join(dir, 'logs', 'p.log'), 'utf8');
      if (!log.includes('\n')) await new Promise((r) => setTimeout(r, 50));
    }
    const first = JSON.parse(log.split('\n')[0]) as Record<string, string[]>;
    expect(first).toEqual({ execArgv: ['--no-memory-reducer', '--stack-size=900'], argv: ['--mode', 'telemetry'] });
  } finally {
    await sup.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
