import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildRatings, ratingsSpecs } from './app';

runDemo('bookinfo-ratings', ratingsSpecs, async (s) =>
  startDemo(buildRatings({ logLevel: s.logLevel }), s.host, s.port),
);
