import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildProductpage, productpageSpecs } from './app';

runDemo('bookinfo-productpage', productpageSpecs, async (s) =>
  startDemo(buildProductpage({ ...s, timeoutMs: s.upstreamTimeoutMs }), s.host, s.port),
);
