import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildDetails, detailsSpecs } from './app';

runDemo('bookinfo-details', detailsSpecs, async (s) =>
  startDemo(buildDetails({ logLevel: s.logLevel }), s.host, s.port),
);
