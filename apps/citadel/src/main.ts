import { createLogger, runMain } from '@tsmesh/core';
import { startCitadel } from './citadel';
import { citadelConfig } from './settings';

runMain(citadelConfig, async (settings) => startCitadel(settings, { logger: createLogger('citadel') }));
