import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { buildOrder, openOrderDb, orderSpecs } from './app';

runDemo('shop-order', orderSpecs, async (s) => {
  const db = await openOrderDb(s);
  return startDemo(buildOrder({ ...s, db }), s.host, s.port, () => db.close());
});
