import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildRating, ratingSpecs } from './app';

runDemo('bookrating-rating', ratingSpecs, async (s) => startDemo(buildRating(s), s.host, s.port));
