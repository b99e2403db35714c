import path from 'node:path';
import { renderConfigDoc, renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import { proxyErrors } from '@tsmesh/dataplane';
import { proxyConfig } from './settings';

const docs = path.join(__dirname, '../../../docs');

describe('proxy docs', () => {
  it('docs/errors.md lists every proxy error code', () => {
    expect(syncDocSection(path.join(docs, 'errors.md'), renderErrorsDoc(proxyErrors))).toBeNull();
  });
  it('docs/config.md lists every proxy flag', () => {
    expect(syncDocSection(path.join(docs, 'config.md'), renderConfigDoc(proxyConfig))).toBeNull();
  });
});
