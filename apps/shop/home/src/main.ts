import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildHome, homeSpecs } from './app';

runDemo('shop-home', homeSpecs, async (s) => startDemo(buildHome({ logLevel: s.logLevel }), s.host, s.port));
