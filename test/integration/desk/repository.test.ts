/**
 * The desk's repository on a real PostgreSQL and on PGlite: the same cases against both, so the embedded demo and
 * production run the same SQL.
 */
import { migrate, readMigrations } from '../../../src/desk/migrate';
import { createRepository, type Repository } from '../../../src/desk/repository';
import { createDecider } from '../../../src/desk/decide';
import { alertRow, decisionRow, type AlertRow, type DecisionRow } from '../../../src/desk/records';
import type { LabelMessage } from '../../../src/contract/schemas';
import { DATABASES, type TestDatabase } from '../../support/desk';

const TOKEN_A = 'a'.repeat(64);
const TOKEN_B = 'b'.repeat(64);

const alert = (over: Record<string, unknown>): AlertRow => {
  const row = alertRow({
    alertId: 'al-1',
    type: 'transaction',
    transactionId: 'tx-1',
    timestamp: '2026-01-10T10:00:00+05:00',
    createdAt: '2026-01-10T05:00:01Z',
    cardToken: TOKEN_A,
    maskedPan: '400000******0002',
    score: 0.9,
    action: 'block',
    reasons: [{ code: 'CARD_VELOCITY_10M', message: '8 transactions in 10 minutes (limit 5)' }],
    rulesVersion: 'r1',
    ...over,
  });
  if ('invalid' in row) throw new Error(row.invalid);
  return row;
};

const decision = (id: string, over: Record<string, unknown> = {}): DecisionRow => {
  const row = decisionRow({
    transactionId: id,
    cardToken: TOKEN_A,
    timestamp: '2026-01-10T04:00:00Z',
    score: 0.01,
    action: 'allow',
    reasons: [],
    rulesVersion: 'r1',
    amount: 1200,
    currency: 'KZT',
    merchantId: 'm-1',
    country: 'KZ',
    channel: 'pos',
    ...over,
  });
  if ('invalid' in row) throw new Error(row.invalid);
  return row;
};

describe.each(DATABASES)('the desk repository on %s', (_name, open) => {
  let database: TestDatabase;
  let repo: Repository;

  beforeAll(async () => {
    database = await open('desk_repo');
    await migrate(database.db);
    repo = createRepository(database.db);
  });
  afterAll(async () => database?.drop());

  it('applies each migration once and records it', async () => {
    expect(await migrate(database.db)).toEqual([]);
    const recorded = await database.db.query<{ version: number }>('SELECT version FROM desk_migrations ORDER BY version');
    expect(recorded.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
  });

  it('stores an alert once however often it is delivered, with its whole JSON', async () => {
    const row = alert({ unknownField: { kept: true } });
    expect(await repo.upsertAlerts([row, row])).toBe(1);
    expect(await repo.upsertAlerts([row])).toBe(0);
    const stored = await repo.alert('al-1');
    expect(stored?.reason_codes).toEqual(['CARD_VELOCITY_10M']);
    expect(stored?.body.unknownField).toEqual({ kept: true });
    expect(stored?.event_time.toISOString()).toBe('2026-01-10T05:00:00.000Z');
  });

  it('orders the queue by score then recency, filters it, and counts each facet under the other filters', async () => {
    await repo.upsertAlerts([
      alert({ alertId: 'al-2', transactionId: 'tx-2', score: 0.6, action: 'review', reasons: [{ code: 'AMOUNT_SPIKE', message: 'x' }] }),
      alert({ alertId: 'al-3', transactionId: 'tx-3', score: 0.9, timestamp: '2026-01-11T10:00:00+05:00' }),
      alert({ alertId: 'car-1', type: 'card-at-risk', transactionId: undefined, cardToken: TOKEN_B, score: 0.7, action: 'review', point: { kind: 'terminal', id: 't-9' }, exposedAt: '2026-01-02T00:00:00Z' }),
    ]);
    expect((await repo.queue({})).map((r) => r.alert_id)).toEqual(['al-3', 'al-1', 'car-1', 'al-2']);
    expect((await repo.queue({ type: 'card-at-risk' })).map((r) => r.alert_id)).toEqual(['car-1']);
    expect((await repo.queue({ reason: 'AMOUNT_SPIKE' })).map((r) => r.alert_id)).toEqual(['al-2']);
    expect((await repo.queue({ from: '2026-01-11T00:00:00Z' })).map((r) => r.alert_id)).toEqual(['al-3']);
    const counts = await repo.counts({ action: 'block' });
    expect(counts.total).toBe(2);
    expect(counts.action).toEqual({ block: 2, review: 2 });
    expect(counts.type).toEqual({ transaction: 2 });
    expect(counts.status).toEqual({ open: 2 });
    expect(counts.latest).toBeInstanceOf(Date);
    expect(await repo.reasonCodes()).toEqual(['AMOUNT_SPIKE', 'CARD_VELOCITY_10M']);
  });

  it('keeps only the newest revision of a compromised-point finding open, whatever order revisions arrive in', async () => {
    const point = (id: string, revision: number) =>
      alert({ alertId: id, type: 'compromised-point', transactionId: undefined, cardToken: undefined, maskedPan: undefined, point: { kind: 'merchant', id: 'm-77' }, findingId: 'f-1', revision });
    await repo.upsertAlerts([point('cp-2', 2)]);
    await repo.upsertAlerts([point('cp-1', 1)]);
    expect((await repo.queue({ type: 'compromised-point' })).map((r) => r.alert_id)).toEqual(['cp-2']);
    expect((await repo.alert('cp-1'))?.status).toBe('superseded');
    await repo.upsertAlerts([alert({ alertId: 'car-m77', type: 'card-at-risk', transactionId: undefined, point: { kind: 'merchant', id: 'm-77' }, findingId: 'f-1' })]);
    const points = await repo.points();
    expect(points.map((p) => [p.alert_id, p.exposed_cards])).toEqual([['cp-2', 1]]);
  });

  it('builds the card timeline from decisions, labels and alerts the scores topic never carried', async () => {
    expect(await repo.upsertDecisions([decision('tx-0', { timestamp: '2026-01-09T12:00:00Z' }), decision('tx-1', { timestamp: '2026-01-10T04:30:00Z', score: 0.9, action: 'block', alertId: 'al-1', reasons: ['CARD_VELOCITY_10M'] })])).toBe(2);
    expect(await repo.upsertDecisions([decision('tx-0', { timestamp: '2026-01-09T12:00:00Z' })])).toBe(0);
    await repo.upsertLabels([{ transactionId: 'tx-1', cardToken: TOKEN_A, label: 'fraud', source: 'chargeback', reportedAt: '2026-01-20T00:00:00.000Z' }]);
    const timeline = await repo.timeline(TOKEN_A);
    // tx-3 and tx-2 are known only from their alerts
    expect(timeline.map((r) => r.transaction_id)).toEqual(['tx-3', 'tx-2', 'tx-1', 'tx-0']);
    const tx1 = timeline.find((r) => r.transaction_id === 'tx-1')!;
    expect([tx1.amount, tx1.merchant_id, tx1.label, tx1.label_source]).toEqual([1200, 'm-1', 'fraud', 'chargeback']);
  });

  it('keeps the newest label of a transaction and ignores an older report replayed', async () => {
    await repo.upsertLabels([{ transactionId: 'tx-2', cardToken: TOKEN_A, label: 'fraud', source: 'customer', reportedAt: '2026-01-15T00:00:00.000Z' }]);
    await repo.upsertLabels([{ transactionId: 'tx-2', cardToken: TOKEN_A, label: 'genuine', source: 'chargeback', reportedAt: '2026-01-18T00:00:00.000Z' }]);
    await repo.upsertLabels([{ transactionId: 'tx-2', cardToken: TOKEN_A, label: 'fraud', source: 'customer', reportedAt: '2026-01-15T00:00:00.000Z' }]);
    expect((await repo.cardLabels(TOKEN_A)).find((l) => l.transaction_id === 'tx-2')?.label).toBe('genuine');
  });

  it('turns a decision into one audit row and one label, even when it is clicked twice at once', async () => {
    const published: LabelMessage[] = [];
    const decide = createDecider(repo, async (label) => void published.push(label), () => Date.parse('2026-02-01T00:00:00Z'));
    const analyst = { name: 'alice', role: 'analyst', csrf: 'x' };
    const outcomes = await Promise.all([decide('al-3', 'fraud', analyst), decide('al-3', 'fraud', analyst)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['duplicate', 'labelled']);
    expect(published).toEqual([{ transactionId: 'tx-3', cardToken: TOKEN_A, label: 'fraud', reportedAt: '2026-02-01T00:00:00.000Z', source: 'analyst' }]);
    expect((await repo.audit('al-3')).map((a) => [a.decision, a.label, a.user_name])).toEqual([['fraud', 'fraud', 'alice']]);
    const stored = await repo.alert('al-3');
    expect([stored?.status, stored?.disposition, stored?.disposed_by]).toEqual(['closed', 'fraud', 'alice']);
    expect((await repo.cardLabels(TOKEN_A)).find((l) => l.transaction_id === 'tx-3')?.source).toBe('analyst');
  });

  it('records a card-at-risk decision without a label, refuses decisions of another alert type, and rolls back a failed publish', async () => {
    const published: LabelMessage[] = [];
    const analyst = { name: 'bob', role: 'analyst', csrf: 'x' };
    const decide = createDecider(repo, async (label) => void published.push(label));
    expect(await decide('car-1', 'reissue', analyst)).toEqual({ status: 'recorded' });
    expect((await decide('car-1', 'fraud', analyst)).status).toBe('invalid');
    expect(published).toEqual([]);
    const failing = createDecider(repo, async () => {
      throw new Error('broker down');
    });
    await expect(failing('al-2', 'genuine', analyst)).rejects.toThrow('broker down');
    expect(await repo.audit('al-2')).toEqual([]);
    expect((await repo.alert('al-2'))?.status).toBe('open');
  });

  it('refuses to edit or delete the audit trail', async () => {
    await expect(database.db.query(`UPDATE audit SET user_name = 'mallory'`)).rejects.toThrow(/append-only/);
    await expect(database.db.query('DELETE FROM audit')).rejects.toThrow(/append-only/);
    expect((await repo.audit('al-3')).map((a) => a.user_name)).toEqual(['alice']);
  });

  it('counts rule hits per day and each rule’s precision from labels and decisions', async () => {
    const outcomes = await repo.ruleOutcomes();
    const velocity = outcomes.find((o) => o.code === 'CARD_VELOCITY_10M')!;
    // tx-1 (decision, chargeback fraud) and tx-3 (alert only, analyst fraud) hit it; al-1's decision row carries it
    expect([velocity.hits, velocity.fraud, velocity.genuine]).toEqual([2, 2, 0]);
    const spike = outcomes.find((o) => o.code === 'AMOUNT_SPIKE')!;
    expect([spike.hits, spike.fraud, spike.genuine]).toEqual([1, 0, 1]);
    const perDay = await repo.ruleHitsPerDay(30);
    expect(perDay.filter((r) => r.code === 'CARD_VELOCITY_10M')).toEqual([
      { code: 'CARD_VELOCITY_10M', day: '2026-01-10', hits: 1 },
      { code: 'CARD_VELOCITY_10M', day: '2026-01-11', hits: 1 },
    ]);
  });

  it('keeps sessions until they expire or are ended', async () => {
    await repo.createSession({ tokenHash: 'h1', userName: 'alice', userRole: 'analyst', csrfToken: 'c1', expiresAt: new Date(Date.now() + 60_000) });
    await repo.createSession({ tokenHash: 'h2', userName: 'alice', userRole: 'analyst', csrfToken: 'c2', expiresAt: new Date(Date.now() - 1) });
    expect((await repo.session('h1'))?.csrf_token).toBe('c1');
    expect(await repo.session('h2')).toBeUndefined();
    await repo.deleteSession('h1');
    expect(await repo.session('h1')).toBeUndefined();
  });

  it('deletes rows ingested before the retention period and keeps the audit trail', async () => {
    await database.db.query(`UPDATE alerts SET ingested_at = now() - interval '40 days' WHERE alert_id = 'al-2'`);
    await database.db.query(`UPDATE decisions SET ingested_at = now() - interval '40 days' WHERE transaction_id = 'tx-0'`);
    expect(await repo.purge(30)).toEqual({ alerts: 1, decisions: 1, labels: 0 });
    expect(await repo.alert('al-2')).toBeUndefined();
    expect(await repo.alert('al-1')).toBeDefined();
    expect((await repo.audit('al-3')).length).toBe(1);
  });
});
