import { createDemoLogger, runDemo, serverSpecs, type DemoSpecs } from '@tsmesh/demo-kit';
import { startPgServer } from './server';

export const postgresSpecs = {
  ...serverSpecs(5432),
  dataDir: {
    kind: 'string',
    default: '',
    description: 'PGlite data directory (created if missing); empty keeps the database in memory',
    env: 'PGLITE_DATA_DIR',
  },
} as const satisfies DemoSpecs;

runDemo('shop-postgres', postgresSpecs, async (s) =>
  startPgServer({ ...s, logger: createDemoLogger('shop-postgres', s.logLevel) }),
);
