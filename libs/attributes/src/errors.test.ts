import { join } from 'node:path';
import { renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import { attributesErrors } from './errors';

it('docs/errors.md lists every attributes error code', () => {
  expect(syncDocSection(join(__dirname, '../../../docs/errors.md'), renderErrorsDoc(attributesErrors))).toBeNull();
});
