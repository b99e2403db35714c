import { renderConfigDoc, renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import { join } from 'node:path';
import { cliErrors } from './errors';
import { upConfig } from './settings';

const DOCS = join(__dirname, '../../../docs');

test('docs/errors.md has the cli section', () => {
  expect(syncDocSection(join(DOCS, 'errors.md'), renderErrorsDoc(cliErrors))).toBeNull();
});

test('docs/config.md has the cli section', () => {
  expect(syncDocSection(join(DOCS, 'config.md'), renderConfigDoc(upConfig))).toBeNull();
});
