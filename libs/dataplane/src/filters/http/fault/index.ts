import type { HttpFilterFactory } from '../../types';
import { FAULT_TYPE_URL, parseFaultConfig, type FaultConfig } from './config';
import { createFaultFilter } from './filter';

export { FAULT_TYPE_URL, type FaultConfig } from './config';

/** envoy.filters.http.fault */
export const faultFilter: HttpFilterFactory<FaultConfig, FaultConfig> = {
  name: 'envoy.filters.http.fault',
  typeUrls: [FAULT_TYPE_URL],
  parseConfig: parseFaultConfig,
  create: createFaultFilter,
};
