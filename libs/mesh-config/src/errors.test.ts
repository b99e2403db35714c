import { join } from 'node:path';
import { renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import { meshConfigErrors } from './errors';

const root = join(__dirname, '..', '..', '..');

describe('mesh-config error catalogue', () => {
  it('docs/errors.md is in step with the catalogue', () => {
    expect(syncDocSection(join(root, 'docs', 'errors.md'), renderErrorsDoc(meshConfigErrors))).toBeNull();
  });

  it('codes carry the component prefix', () => {
    for (const code of Object.keys(meshConfigErrors.specs)) expect(code).toMatch(/^MESH_CONFIG_ERR_[A-Z_]+$/);
  });
});
