// `tsmesh up -d` on the demos (control plane left out so the test does not depend on other
// components' state), an applied Deployment restarting its pod, `tsmesh down` leaving no process.
import { spawnSync } from 'node:child_process';
import { buildForTests } from './build-for-tests';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '../../..');
const BIN = join(ROOT, 'bin/tsmesh.js');
const state = mkdtempSync(join(tmpdir(), 'tsmesh-up-'));
const subnet = `127.${20 + (process.pid % 200)}.${Math.floor(Math.random() * 250)}`;

function tsmesh(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TSMESH_ROOT: ROOT },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  buildForTests(['cli', 'bookinfo-*', 'shop-*', 'bookrating-*']);
});

afterAll(() => {
  if (existsSync(join(state, 'state.json'))) tsmesh('down', '--state-dir', state);
  rmSync(state, { recursive: true, force: true });
});

test('up -d, use the demos, apply a workload change, status, down', async () => {
  const started = tsmesh(
    'up',
    '-d',
    '--no-build',
    '--state-dir',
    state,
    '--subnet',
    subnet,
    '--without',
    'pilot,proxy,gateway,mixer,citadel',
    '--gateway-address',
    '127.0.0.1:0',
  );
  expect([started.code, started.out]).toEqual([0, expect.stringContaining('Open:')]);
  expect(started.out).toContain('pilot: left out (--without)');
  const st = JSON.parse(tsmesh('status', '--json', '--state-dir', state).out);
  expect(st).toMatchObject({ running: true, status: 'ready' });
  // 14 demo pods plus the shop's postgres, run as the PGlite stand-in on its own address unless
  // DATABASE_URL names a real PostgreSQL (as in CI), which the shop then uses instead.
  if (process.env['DATABASE_URL']) {
    expect(st.processes).toHaveLength(14);
    expect(st.processes.find((p: { name: string }) => p.name === 'postgres')).toBeUndefined();
  } else {
    expect(st.processes).toHaveLength(15);
    expect(st.processes.find((p: { name: string }) => p.name === 'postgres')?.listeners).toEqual({
      postgres: expect.stringMatching(/:5432$/),
    });
  }
  const pids: number[] = st.processes.map((p: { pid: number }) => p.pid);
  expect(pids.every(alive)).toBe(true);

  const link = (label: string) => st.links.find((l: { label: string }) => l.label.startsWith(label)).url as string;
  const page = await get(link('bookinfo'));
  expect(page.body).toContain('The Comedy of Errors');
  expect(page.body).toMatch(/reviews-v1-[0-9a-f]{5}/);
  expect((await get(link('book/rating'))).body).toBe('{"bookId":1,"name":"Book 1","rating":1}');

  // The chapter's failing-order-service.yaml: order restarts with FAILRANDOMLY=true.
  const orderPid = st.processes.find((p: { name: string }) => p.name === 'order').pid;
  expect(tsmesh('apply', '-f', 'samples/shop/failing-order-service.yaml', '--state-dir', state).out).toContain(
    'deployment/order created',
  );
  let restarted: { pid: number; status: string } | undefined;
  for (let i = 0; i < 200 && !(restarted && restarted.pid !== orderPid && restarted.status === 'ready'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    restarted = JSON.parse(tsmesh('status', '--json', '--state-dir', state).out).processes.find(
      (p: { name: string }) => p.name === 'order',
    );
  }
  expect(restarted?.pid).not.toBe(orderPid);
  const statuses = new Set<number>();
  for (let i = 0; i < 30; i++) statuses.add((await get(link('shop order'))).status);
  expect(statuses).toEqual(new Set([200, 500]));

  expect(tsmesh('up', '-d', '--no-build', '--state-dir', state).out).toContain('CLI_ERR_ALREADY_RUNNING');
  const stopped = tsmesh('down', '--state-dir', state);
  expect(stopped.code).toBe(0);
  const all = [...pids, st.supervisorPid, restarted?.pid as number];
  expect(all.filter(alive)).toEqual([]);
  expect(existsSync(join(state, 'state.json'))).toBe(false);
  expect(tsmesh('status', '--state-dir', state).code).toBe(3);
});
