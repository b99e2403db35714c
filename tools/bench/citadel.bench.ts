// Citadel signing cost and first-certificate latency: `node tools/bench/run.mjs citadel [seconds]`.
// Side by side in one run: native crypto + hand-written DER (EC P-256, RSA 2048) vs node-forge
// (RSA only; forge has no EC), in-process and through the built Citadel process over gRPC.
// Needs dist/apps/citadel/main.js (`npx nx build citadel`).
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import {
  CaClient,
  buildCsr,
  generateKey,
  issueCertificate,
  parseCsr,
  selfSignedRoot,
  type KeyAlgorithm,
} from '@tsmesh/pki';

const SECONDS = Number(process.argv[2] ?? 2);
const ID = 'spiffe://cluster.local/ns/default/sa/bench';
const DAY = 86_400_000;

function rate(fn: () => void, seconds = SECONDS): number {
  for (let i = 0; i < 20; i++) fn();
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

async function inProcess(alg: KeyAlgorithm) {
  const root = await generateKey(alg);
  const rootCert = new X509Certificate(selfSignedRoot(root.privateKey, 'cluster.local', 3650 * DAY, Date.now()));
  const leafKey = await generateKey('ec-p256');
  const csr = buildCsr(leafKey.privateKey, { uris: [ID] });
  const parsed = parseCsr(csr);
  const sign = () =>
    issueCertificate({
      subjectKey: parsed.publicKey,
      subjectSpki: parsed.spki,
      sans: { uris: [ID] },
      ttlMs: DAY,
      now: Date.now(),
      issuer: rootCert,
      signingKey: root.privateKey,
    });
  return {
    signOnly: rate(sign),
    parseVerifySign: rate(() => {
      const p = parseCsr(csr);
      issueCertificate({
        subjectKey: p.publicKey,
        subjectSpki: p.spki,
        sans: { uris: [ID] },
        ttlMs: DAY,
        now: Date.now(),
        issuer: rootCert,
        signingKey: root.privateKey,
      });
    }),
  };
}

function forgeRsa(): number {
  const caKeys = forge.pki.rsa.generateKeyPair(2048);
  const leafKeys = forge.pki.rsa.generateKeyPair(2048);
  return rate(
    () => {
      const c = forge.pki.createCertificate();
      c.publicKey = leafKeys.publicKey;
      c.serialNumber = '01';
      c.validity.notBefore = new Date();
      c.validity.notAfter = new Date(Date.now() + DAY);
      c.setIssuer([{ name: 'organizationName', value: 'cluster.local' }]);
      c.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 6, value: ID }] }]);
      c.sign(caKeys.privateKey, forge.md.sha256.create());
      forge.pki.certificateToPem(c);
    },
    Math.min(SECONDS, 1),
  );
}

function startCitadel(dir: string, alg: KeyAlgorithm, token: string): Promise<{ child: ChildProcess; grpc: string }> {
  writeFileSync(join(dir, 'tokens'), `${token} default/bench\n`);
  const child = spawn(
    process.execPath,
    [
      'dist/apps/citadel/main.js',
      '--grpc-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(dir, `ca-${alg}`),
      '--key-algorithm',
      alg,
      '--bootstrap-tokens',
      join(dir, 'tokens'),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"listener":"grpc","address":"([^"]+)"/.exec(buf);
      if (m) resolve({ child, grpc: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`citadel exited ${code}`)));
  });
}

async function overGrpc(dir: string, alg: KeyAlgorithm) {
  const token = 'bench-token-0123456789abcdef';
  const { child, grpc } = await startCitadel(dir, alg, token);
  const client = new CaClient({ address: grpc, token });
  try {
    const keys = await Promise.all(Array.from({ length: 16 }, () => generateKey('ec-p256')));
    const csrs = keys.map((k) => buildCsr(k.privateKey, { uris: [ID] }));
    process.stderr.write('citadel bench: warm-up call\n');
    await client.createCertificate(csrs[0]);
    process.stderr.write('citadel bench: warm-up done\n');
    const concurrency = 16;
    let done = 0;
    const end = Date.now() + SECONDS * 1000;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        while (Date.now() < end) {
          await client.createCertificate(csrs[i % csrs.length]);
          done++;
        }
      }),
    );
    const rps = done / ((performance.now() - start) / 1000);
    // First certificate: fresh key + CSR + one RPC, as a proxy does at start-up.
    const firsts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const k = await generateKey('ec-p256');
      await client.createCertificate(buildCsr(k.privateKey, { uris: [ID] }));
      firsts.push(performance.now() - t);
    }
    firsts.sort((a, b) => a - b);
    return { rps, firstP50: firsts[10], firstMax: firsts[19] };
  } finally {
    client.close();
    child.kill('SIGTERM');
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'citadel-bench-'));
  try {
    const step = (m: string) => process.stderr.write(`citadel bench: ${m}\n`);
    step('in-process EC');
    const ec = await inProcess('ec-p256');
    step('in-process RSA');
    const rsa = await inProcess('rsa-2048');
    step('node-forge RSA');
    const forgeRate = forgeRsa();
    step('gRPC EC');
    const gEc = await overGrpc(dir, 'ec-p256');
    step('gRPC RSA');
    const gRsa = await overGrpc(dir, 'rsa-2048');
    const f = (n: number) => n.toFixed(0);
    console.log(
      `\n### Citadel signing (${SECONDS}s per row, Node ${process.version}, load average ${loadavg()[0].toFixed(1)})\n`,
    );
    console.log('| CA key | what | certs/s | ratio to EC sign-only |');
    console.log('| --- | --- | ---: | ---: |');
    const base = ec.signOnly;
    const row = (k: string, w: string, v: number) =>
      console.log(`| ${k} | ${w} | ${f(v)} | ${(v / base).toFixed(2)} |`);
    row('EC P-256', 'issue (native crypto + own DER)', ec.signOnly);
    row('EC P-256', 'parse + verify CSR + issue', ec.parseVerifySign);
    row('EC P-256', 'CreateCertificate over gRPC (16 in flight, incl. authn)', gEc.rps);
    row('RSA 2048', 'issue (native crypto + own DER)', rsa.signOnly);
    row('RSA 2048', 'parse + verify CSR + issue', rsa.parseVerifySign);
    row('RSA 2048', 'CreateCertificate over gRPC (16 in flight, incl. authn)', gRsa.rps);
    row('RSA 2048', 'issue with node-forge (pure JS)', forgeRate);
    console.log(
      `\nFirst certificate (EC P-256 key + CSR + RPC to a running Citadel): p50 ${gEc.firstP50.toFixed(1)} ms, max of 20 ${gEc.firstMax.toFixed(1)} ms (EC root); p50 ${gRsa.firstP50.toFixed(1)} ms (RSA root).`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
