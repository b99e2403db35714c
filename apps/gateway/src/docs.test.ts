import path from 'node:path';
import { renderConfigDoc, syncDocSection } from '@tsmesh/core';
import { gatewayConfig } from './settings';

describe('gateway docs', () => {
  it('docs/config.md lists every gateway flag', () => {
    expect(syncDocSection(path.join(__dirname, '../../../docs/config.md'), renderConfigDoc(gatewayConfig))).toBeNull();
  });
});
