/**
 * `npm run desk:screenshots`: the README's pictures of the desk, taken in a real headless Chromium from the service
 * on embedded defaults fed with simulated traffic. Compromise detection is not on this branch yet, so a few
 * compromised-point and card-at-risk alerts shaped as it will publish them (point, shape, window, evidence,
 * findingId, exposedAt, recommendation) are added through the same in-process alert path, built from the
 * simulator's own breached points; they are examples of the page, not detections.
 *
 *   npm run desk:screenshots -- [--out docs/desk] [--transactions 60000]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startService } from '../src/service';
import { createSimulation, type SimEvent } from '../src/sim';
import { createLogger } from '../src/telemetry/logger';
import { launchChromium } from '../test/support/browser';
import { exampleCompromiseAlerts } from '../test/support/desk-fixtures';
import { parseToolArgs } from '../src/cli/args';

const { values: args } = parseToolArgs('desk:screenshots', { options: { out: { type: 'string', default: 'docs/desk' }, transactions: { type: 'string', default: '60000' } } });

async function main(): Promise<void> {
  const service = await startService({
    env: {},
    overrides: { httpPort: 0, kafkaBrokers: [], redisUrl: undefined, redisClusterNodes: [], logLevel: 'warn' },
    logger: createLogger({ level: 'warn' }),
  });
  const desk = service.desk!;
  const wanted = Number(args.transactions);
  let batch: string[] = [];
  let scored = 0;
  const decided: Array<{ transactionId: string; cardToken: string; terminalId?: string; timestamp: string }> = [];
  for (const event of createSimulation({ seed: 7, customers: 3000, days: 30 }) as Iterable<SimEvent>) {
    if (event.kind === 'label') await service.recordLabelMessages(JSON.stringify(event.message));
    else batch.push(JSON.stringify(event.message));
    if (batch.length < 1000) continue;
    const result = (await service.scoreMessages(batch.join('\n'))).body as { decisions: Array<{ transactionId: string; cardToken: string }> };
    for (const d of result.decisions.slice(0, 50)) decided.push({ ...d, timestamp: '' });
    scored += batch.length;
    batch = [];
    if (scored >= wanted) break;
  }
  await desk.flush();
  // cards and terminals the desk really holds, so the examples link to real timelines
  const rows = await desk.repo.db.query<{ card_token: string; terminal_id: string; event_time: Date }>(
    `SELECT card_token, terminal_id, event_time FROM decisions WHERE terminal_id IS NOT NULL ORDER BY event_time DESC LIMIT 400`,
  );
  await desk.alertSink!.publish(exampleCompromiseAlerts(rows.map((r) => ({ cardToken: r.card_token, terminalId: r.terminal_id, at: r.event_time.toISOString() }))));
  await desk.flush();

  const base = `http://127.0.0.1:${service.port}/desk`;
  const browser = await launchChromium({ width: 1440, height: 1000 });
  const out = args.out!;
  mkdirSync(out, { recursive: true });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    await page.fill('input[name=user]', desk.generatedUser!.name);
    await page.fill('input[name=password]', desk.generatedUser!.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#queue');
    await page.screenshot({ path: join(out, 'queue.png'), fullPage: false });
    const first = await page.getAttribute('#queue tbody tr[data-alert] ', 'data-alert');
    // the highest transaction alert whose card has a timeline worth showing
    const pick = await desk.repo.db.query<{ alert_id: string }>(
      `SELECT a.alert_id FROM alerts a WHERE a.type = 'transaction' AND (SELECT count(*) FROM decisions d WHERE d.card_token = a.card_token) >= 8 ORDER BY a.score DESC LIMIT 1`,
    );
    await page.goto(`${base}/alerts/${encodeURIComponent(pick[0]?.alert_id ?? first!)}`);
    await page.screenshot({ path: join(out, 'alert.png'), fullPage: true });
    await page.goto(`${base}/points`);
    await page.screenshot({ path: join(out, 'points.png'), fullPage: false });
    await page.goto(`${base}/rules`);
    await page.screenshot({ path: join(out, 'rules.png'), fullPage: false });
    console.log(`screenshots of ${scored} scored transactions in ${out}/: queue.png alert.png points.png rules.png`);
  } finally {
    await browser.close();
    await service.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
