import path from 'node:path';
import { renderErrorsDoc, syncDocSection } from '@tsmesh/core';
import { dataplaneErrors } from './errors';

describe('dataplane error catalogue', () => {
  it('is documented in docs/errors.md', () => {
    expect(
      syncDocSection(path.join(__dirname, '../../../../docs/errors.md'), renderErrorsDoc(dataplaneErrors)),
    ).toBeNull();
  });

  it('joins every field error into the message the xDS client NACKs with', () => {
    const e = dataplaneErrors.error('DATAPLANE_ERR_INVALID_CONFIG', { kind: 'data-plane' }, [
      { path: '', message: 'cluster "a": connect_timeout: must be a positive duration' },
      { path: '', message: 'listener "l": filter_chains: at least one filter chain is required' },
    ]);
    expect(e.message).toBe(
      'rejected data-plane configuration: cluster "a": connect_timeout: must be a positive duration; listener "l": filter_chains: at least one filter chain is required',
    );
    expect(e.grpcCode).toBe(3);
  });
});
