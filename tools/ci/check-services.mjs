// Fails fast, with one clear line, when a service the tests need is unreachable.
import net from 'node:net';

const targets = [
  ['REDIS_URL', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 6379],
  ['DATABASE_URL', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', 5432],
];

function reach(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

let ok = true;
for (const [name, url, defPort] of targets) {
  const u = new URL(url);
  const up = await reach(u.hostname, Number(u.port || defPort));
  console.log(`${name}=${url} ${up ? 'reachable' : 'UNREACHABLE'}`);
  ok &&= up;
}
if (!ok) {
  console.error('a service the tests need is unreachable; start it (see README "Tests") and run again');
  process.exit(1);
}
