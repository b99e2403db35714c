import { join } from 'node:path';
import { renderConfigDoc, renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import { pilotErrors } from './errors';
import { pilotConfig } from './settings';

const root = join(__dirname, '../../..');

describe('docs stay in step with the code', () => {
  it('docs/errors.md has every PILOT_ERR_* code', () => {
    expect(syncDocSection(join(root, 'docs/errors.md'), renderErrorsDoc(pilotErrors))).toBeNull();
  });
  it('docs/config.md has every Pilot flag and env var', () => {
    expect(syncDocSection(join(root, 'docs/config.md'), renderConfigDoc(pilotConfig))).toBeNull();
  });
});
