import { join } from 'node:path';
import { renderConfigDoc, renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import { mixerErrors } from './errors';
import { mixerSettings } from './settings';

const docs = join(__dirname, '../../../docs');

it('docs/errors.md lists every mixer error code', () => {
  expect(syncDocSection(join(docs, 'errors.md'), renderErrorsDoc(mixerErrors))).toBeNull();
});

it('docs/config.md lists every mixer setting', () => {
  expect(syncDocSection(join(docs, 'config.md'), renderConfigDoc(mixerSettings))).toBeNull();
});
