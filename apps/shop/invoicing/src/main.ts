import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildInvoicing, openInvoicingDb, invoicingSpecs } from './app';

runDemo('shop-invoicing', invoicingSpecs, async (s) => {
  const db = await openInvoicingDb(s);
  const { server, poller } = buildInvoicing({ ...s, db });
  const running = await startDemo(server, s.host, s.port, async () => {
    await poller.stop();
    await db.close();
  });
  poller.start(s.pollIntervalMs);
  return running;
});
