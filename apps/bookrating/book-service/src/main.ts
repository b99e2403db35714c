import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { bookSpecs, buildBookService } from './app';

runDemo('bookrating-book-service', bookSpecs, async (s) => startDemo(buildBookService(s), s.host, s.port));
