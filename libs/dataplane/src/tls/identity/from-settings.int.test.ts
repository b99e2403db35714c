import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, parseConfig, silentLogger, systemClock, SeededRandom } from '@tsmesh/core';
import { httpRequest, startApp, stopAllApps, tempDir } from '@tsmesh/testing';
import { identitySettingsSpec, startIdentity } from './from-settings';

const dir = tempDir('identity-settings-');
afterAll(async () => {
  await stopAllApps();
  dir.cleanup();
});

test('flags → Citadel CSR flow with a token file and a pinned root (Citadel over TLS)', async () => {
  const token = 'tok-settings-000000000000001';
  writeFileSync(join(dir.path, 'tokens'), `${token} shop/order\n`);
  writeFileSync(join(dir.path, 'token'), `${token}\n`);
  const citadel = await startApp('citadel', {
    args: [
      '--grpc-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(dir.path, 'ca'),
      '--bootstrap-tokens',
      join(dir.path, 'tokens'),
      '--grpc-tls',
    ],
    ready: { listeners: ['grpc', 'http'] },
  });
  writeFileSync(join(dir.path, 'root.pem'), (await httpRequest(`${citadel.url('http')}/root-cert.pem`)).body);
  const def = defineConfig('proxy', 'PROXY', identitySettingsSpec);
  const { settings } = parseConfig(
    def,
    [
      '--citadel-address',
      citadel.addresses['grpc'],
      '--citadel-token-file',
      join(dir.path, 'token'),
      '--citadel-root-cert',
      join(dir.path, 'root.pem'),
      '--service-account',
      'order',
    ],
    {},
  );
  const started = startIdentity(settings, {
    namespace: 'shop',
    clock: systemClock,
    random: new SeededRandom(3),
    logger: silentLogger(),
  });
  try {
    await started?.provider.ready();
    expect(started?.provider.current()?.spiffeId).toBe('spiffe://cluster.local/ns/shop/sa/order');
    expect(started?.provider.getValidationContext('ROOTCA')?.trustedCa.trim()).toBe(
      (await httpRequest(`${citadel.url('http')}/root-cert.pem`)).body.trim(),
    );
  } finally {
    started?.stop();
  }
  expect(
    startIdentity(parseConfig(def, [], {}).settings, {
      namespace: 'shop',
      clock: systemClock,
      random: new SeededRandom(3),
      logger: silentLogger(),
    }),
  ).toBeUndefined();
});
