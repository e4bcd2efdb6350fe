/**
 * The desk end to end, as an analyst uses it: the real service on Kafka and Redis with the desk on a real
 * PostgreSQL, driven in a real headless Chromium. A burst of transactions alerts through the real pipeline; the
 * analyst signs in, finds the alert in the queue, opens the card's timeline, confirms fraud, and the label is on
 * the labels topic (and reaches the scorer's state); requests without a session are refused.
 */
import { startService, type RunningService } from '../../../src/service';
import { createLogger } from '../../../src/telemetry/logger';
import { hashPassword } from '../../../src/desk/users';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { prepareNames, serviceOverrides, type TestNames } from '../../support/service';
import { asKafkaMessage, cardStream, testPan, testToken } from '../../support/traffic';
import { stackAddresses } from '../../support/env';
import { postgresSchema, waitForDesk, type TestDatabase } from '../../support/desk';
import { launchChromium, type LaunchedBrowser } from '../../support/browser';
import { exampleCompromiseAlerts } from '../../support/desk-fixtures';

const T0 = Date.parse('2026-03-02T09:00:00Z');

describe('the fraud desk in a browser, on the real pipeline', () => {
  const kafka = testKafka(stackAddresses().kafkaBrokers);
  let names: TestNames;
  let database: TestDatabase;
  let service: RunningService;
  let labels: Collector;
  let browser: LaunchedBrowser;
  let base: string;
  const burst = cardStream(1, 8, T0, 60_000, 'desk-burst');

  beforeAll(async () => {
    names = await prepareNames('desk-e2e');
    database = await postgresSchema('desk_e2e');
    labels = await collect(kafka, names.labelsTopic);
    const users = [`alice:analyst:${await hashPassword('alice-password')}`, `vera:viewer:${await hashPassword('vera-password')}`].join(',');
    service = await startService({
      env: {},
      overrides: serviceOverrides(names, { modelDir: 'none', deskDatabaseUrl: database.url, deskUsers: users, deskGroupId: `${names.kafkaGroupId}.desk` }),
      logger: createLogger({ level: 'warn' }),
    });
    await service.desk!.joined;
    base = `http://127.0.0.1:${service.port}/desk`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await labels?.stop();
    await database?.drop();
  });

  it('refuses every request without a session: pages get the sign-in form, the API and actions a 401', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('action="/desk/login"');
    const api = await fetch(`${base}/api/alerts`);
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: 'sign in at /desk/login' });
    const action = await fetch(`${base}/alerts/anything/decision`, { method: 'POST', body: new URLSearchParams({ decision: 'fraud' }) });
    expect(action.status).toBe(401);
    const wrong = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ user: 'alice', password: 'guess' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('shows an alert of the real pipeline, its card timeline, and turns "confirm fraud" into one analyst label', async () => {
    const repo = service.desk!.repo;
    await produceAll(kafka, names.transactionsTopic, burst.map(asKafkaMessage));
    await waitForDesk(
      service.telemetry,
      async () => (await repo.queue({})).length > 0 && (await repo.timeline(testToken(1))).length === burst.length,
      'the burst’s alert and its 8 decisions',
    );
    const [alert] = await repo.queue({});

    const page = await browser.context.newPage();
    const signIn = await page.goto(`${base}/`);
    expect(signIn?.status()).toBe(401);
    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=password]', 'alice-password');
    await page.click('button[type=submit]');
    const row = page.locator(`#queue tr[data-alert="${alert.alert_id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('CARD_VELOCITY_10M');
    const cookies = await browser.context.cookies();
    expect(cookies.find((c) => c.name === 'desk_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/desk' });

    await row.locator('a').click();
    await page.waitForSelector('table.timeline');
    expect(await page.locator('table.timeline tbody tr').count()).toBe(burst.length);
    const highlighted = page.locator('table.timeline tr.this');
    expect(await highlighted.getAttribute('data-transaction')).toBe(alert.transaction_id);
    const html = await page.content();
    expect(html).not.toContain(testPan(1));
    expect(html).toContain('400000******');

    // the scorer's own labels consumer reads the analyst's label into card, terminal and merchant state
    const stateOutcome = new Promise<string>((resolve) => {
      const off = service.telemetry.on('state.label', (e) => {
        off();
        resolve(e.outcome);
      });
    });
    await page.click('button[value=fraud]');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).toContain('label published');
    await labels.waitFor((ms) => ms.some((m) => String(m.value).includes(alert.transaction_id!)), 'the analyst label');
    const published = labels.messages.map((m) => JSON.parse(String(m.value)) as Record<string, unknown>);
    expect(published).toEqual([
      { transactionId: alert.transaction_id, cardToken: testToken(1), label: 'fraud', reportedAt: expect.any(String), source: 'analyst' },
    ]);
    expect(await stateOutcome).toBe('applied');

    // a second click finds the first decision: no second audit row, no second label
    await page.click('button[value=fraud]');
    await page.waitForSelector('.notice:has-text("already recorded")');
    expect((await repo.audit(alert.alert_id)).map((a) => [a.decision, a.user_name])).toEqual([['fraud', 'alice']]);
    expect(await page.locator('table.timeline tr.this .badge.fraud').textContent()).toContain('fraud');
  });

  it('shows new alerts in the open queue without a reload', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('#queue');
    const before = await page.locator('#queue tr[data-alert]').count();
    // a reload would lose this
    // (functions, not strings: the desk's Content-Security-Policy forbids eval)
    type Page = { stillHere?: boolean; document: { querySelectorAll(selector: string): { length: number } } };
    await page.evaluate(() => void ((globalThis as unknown as Page).stillHere = true));
    await produceAll(kafka, names.transactionsTopic, cardStream(3, 8, T0, 60_000, 'desk-live').map(asKafkaMessage));
    await page.waitForFunction((n) => (globalThis as unknown as Page).document.querySelectorAll('#queue tr[data-alert]').length > n, before, { timeout: 90_000 });
    expect(await page.evaluate(() => (globalThis as unknown as Page).stillHere)).toBe(true);
    expect(await page.locator('#queue').textContent()).toContain('400000******');
  });

  it('shows a compromised point from the alerts topic with its evidence and exposed cards, and records its confirmation', async () => {
    const repo = service.desk!.repo;
    // shaped as compromise detection publishes them; the terminal is the one card 1 used
    const examples = exampleCompromiseAlerts(burst.map((t) => ({ cardToken: testToken(1), terminalId: t.terminalId!, at: t.timestamp })));
    await produceAll(kafka, names.alertsTopic, examples.map((a) => ({ key: a.cardToken ?? a.alertId, value: JSON.stringify(a) })));
    // both revisions and the card-at-risk alert stored (they arrive on different partitions, in any order), and the
    // older revision superseded (its batch's second statement)
    await waitForDesk(
      service.telemetry,
      async () => (await repo.points('all')).length === 2 && (await repo.points()).length === 1 && (await repo.exposedCards(burst[0].terminalId!)).length === 1,
      'the example point’s two revisions and its exposed card',
    );
    const open = await repo.points();
    expect(open.map((p) => [p.revision, p.exposed_cards])).toEqual([[2, 1]]);
    const page = await browser.context.newPage();
    await page.goto(`${base}/points`);
    const card = page.locator('article.point');
    expect(await card.count()).toBe(1);
    const text = (await card.textContent()) ?? '';
    expect(text).toContain(`terminal ${burst[0].terminalId}`);
    expect(text).toMatch(/rev\. 2/);
    expect(text).toContain('exposed cards warned');
    await card.locator('button[value=confirm]').click();
    await page.waitForSelector('.notice:has-text("Decision recorded.")');
    const [point] = await repo.points('closed');
    expect([point.status, point.disposition, point.disposed_by]).toEqual(['closed', 'confirm', 'alice']);
    // the alert page of the point lists the exposed card
    expect(await page.locator('section:has-text("Exposed cards warned") tbody tr').count()).toBe(1);
  });

  it('refuses a decision without the CSRF token, and a viewer’s decision', async () => {
    // the transaction alert alice decided before
    const [alert] = await service.desk!.repo.queue({ status: 'closed', type: 'transaction' });
    const page = await browser.context.newPage();
    const forged = await page.request.post(`${base}/alerts/${encodeURIComponent(alert.alert_id)}/decision`, { form: { decision: 'genuine' } });
    expect(forged.status()).toBe(403);

    const viewer = await launchChromium();
    try {
      const v = await viewer.context.newPage();
      await v.goto(`${base}/login`);
      await v.fill('input[name=user]', 'vera');
      await v.fill('input[name=password]', 'vera-password');
      await v.click('button[type=submit]');
      await v.goto(`${base}/alerts/${encodeURIComponent(alert.alert_id)}`);
      expect(await v.locator('form.decide').count()).toBe(0);
      const csrf = await v.getAttribute('meta[name=csrf-token]', 'content');
      const refused = await v.request.post(`${base}/alerts/${encodeURIComponent(alert.alert_id)}/decision`, { form: { decision: 'genuine', _csrf: csrf! } });
      expect(refused.status()).toBe(403);
      expect(await refused.text()).toContain('Only analysts decide alerts.');
    } finally {
      await viewer.close();
    }
    expect((await service.desk!.repo.audit(alert.alert_id)).length).toBe(1);
  });
});
