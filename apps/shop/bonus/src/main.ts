import { runDemo, startDemo } from '@tsmesh/demo-kit';
import { bonusSpecs, buildBonus, openBonusDb } from './app';

runDemo('shop-bonus', bonusSpecs, async (s) => {
  const db = await openBonusDb(s);
  const { server, poller } = buildBonus({ ...s, db });
  const running = await startDemo(server, s.host, s.port, async () => {
    await poller.stop();
    await db.close();
  });
  poller.start(s.pollIntervalMs);
  return running;
});
