// The four bookinfo services as real processes wired by URL (no mesh): the page
// served through productpage → reviews v2 → ratings, and details.
import { demoRequest, startDemoProcess, type DemoProcess } from '@tsmesh/demo-kit';
import { join } from 'node:path';

const entry = (svc: string) => join(__dirname, `../../${svc}/src/main.ts`);
const procs: DemoProcess[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

test('productpage renders black stars from reviews v2 and names the pod', async () => {
  const args = ['--host', '127.0.0.1', '--port', '0'];
  const [details, ratings] = await Promise.all([
    startDemoProcess(entry('details'), { args }),
    startDemoProcess(entry('ratings'), { args }),
  ]);
  procs.push(details, ratings);
  const reviews = await startDemoProcess(entry('reviews'), {
    args,
    env: { VERSION: 'v2', RATINGS_URL: `http://${ratings.address}`, POD_NAME: 'reviews-v2-pod' },
  });
  procs.push(reviews);
  const page = await startDemoProcess(entry('productpage'), {
    args,
    env: {
      DETAILS_URL: `http://${details.address}`,
      REVIEWS_URL: `http://${reviews.address}`,
      RATINGS_URL: `http://${ratings.address}`,
    },
  });
  procs.push(page);
  const res = await demoRequest(`http://${page.address}/productpage`, { proxy: null });
  expect(res.status).toBe(200);
  expect(res.body).toContain('<font color="black">&#9733;&#9733;&#9733;&#9733;&#9733;</font>');
  expect(res.body).toContain('reviews-v2-pod');
  expect(res.body).toContain('William Shakespeare');
  expect(await page.stop()).toBe(0);
});
