import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildShipping, openShippingDb, shippingSpecs } from './app';

runDemo('shop-shipping', shippingSpecs, async (s) => {
  const db = await openShippingDb(s);
  const { server, poller } = buildShipping({ ...s, db });
  const running = await startDemo(server, s.host, s.port, async () => {
    await poller.stop();
    await db.close();
  });
  poller.start(s.pollIntervalMs);
  return running;
});
