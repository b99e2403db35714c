import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildReviews, reviewsSpecs } from './app';

runDemo('bookinfo-reviews', reviewsSpecs, async (s) => startDemo(buildReviews(s), s.host, s.port));
