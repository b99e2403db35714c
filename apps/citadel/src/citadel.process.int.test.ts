import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaClient, buildCsr, generateKey } from '@tsmesh/pki';
import { httpRequest, startApp, stopAllApps, tempDir } from '@tsmesh/testing';

const dir = tempDir('citadel-proc-');
afterAll(async () => {
  await stopAllApps();
  dir.cleanup();
});

test('the built citadel process signs a CSR, serves its root and stops on SIGTERM', async () => {
  const token = 'proc-token-0123456789abcdef';
  writeFileSync(join(dir.path, 'tokens'), `${token} shop/order\n`);
  const app = await startApp('citadel', {
    args: [
      '--grpc-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(dir.path, 'ca'),
      '--bootstrap-tokens',
      join(dir.path, 'tokens'),
    ],
    ready: { listeners: ['grpc', 'http'], http: '/ready' },
  });
  const client = new CaClient({ address: app.addresses['grpc'], token });
  try {
    const k = await generateKey();
    const chain = await client.createCertificate(
      buildCsr(k.privateKey, { uris: ['spiffe://cluster.local/ns/shop/sa/order'] }),
    );
    const root = await httpRequest(`${app.url('http')}/root-cert.pem`);
    expect(chain[chain.length - 1]).toBe(root.body);
    expect(app.logs.join('\n')).not.toMatch(/PRIVATE KEY/);
  } finally {
    client.close();
  }
  expect(await app.stop()).toBe(0);
});
