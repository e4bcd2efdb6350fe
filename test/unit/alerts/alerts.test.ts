import { alertIdFor, transactionAlert } from '../../../src/alerts/alert';
import { createMemorySuppressor, suppressionVerdict } from '../../../src/alerts/suppression';
import { createDecoder } from '../../../src/contract/validate';
import { AlertV1 } from '../../../src/contract/schemas';
import type { CardTransaction } from '../../../src/contract/transaction';

const txn: CardTransaction = {
  transactionId: 'tx-1',
  eventTimeMs: Date.parse('2026-11-30T04:15:00Z'),
  timestamp: '2026-11-30T09:15:00+05:00',
  cardToken: 'a'.repeat(64),
  maskedPan: '440043******0007',
  amount: 250000,
  currency: 'KZT',
  approved: true,
  merchantId: 'm-1',
};

describe('alerts', () => {
  it('gives the same id for the same type, card and transaction, and a different one otherwise', () => {
    const id = alertIdFor('transaction', txn.cardToken, 'tx-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(alertIdFor('transaction', txn.cardToken, 'tx-1')).toBe(id);
    expect(alertIdFor('transaction', txn.cardToken, 'tx-2')).not.toBe(id);
    expect(alertIdFor('card-at-risk', txn.cardToken, 'tx-1')).not.toBe(id);
  });

  it('builds an alert that passes the public v1 alert schema', () => {
    const alert = transactionAlert({
      txn,
      score: 0.912345,
      action: 'block',
      reasons: [{ code: 'CARD_VELOCITY_10M', message: '7 transactions in 10 minutes (limit 5)', value: 7, threshold: 5 }],
      rulesVersion: '2026-11-30.1',
      model: { version: 'm1', score: 0.8 },
      createdAtMs: Date.parse('2026-11-30T04:15:01Z'),
    });
    const decoded = createDecoder(AlertV1)(JSON.stringify(alert));
    expect(decoded.ok).toBe(true);
    expect(alert.score).toBe(0.9123);
    expect(alert.maskedPan).toBe('440043******0007');
  });
});

describe('suppression', () => {
  const period = 3_600_000;
  const record = { sinceMs: 1_000_000, level: 1, alertId: 'a1' };
  const candidate = (over: Partial<{ alertId: string; eventTimeMs: number; level: number }>) => ({ cardToken: 'c', alertId: 'a2', eventTimeMs: 1_000_000 + 60_000, level: 1, ...over });

  it.each([
    ['no record', undefined, candidate({}), 'new'],
    ['the same alert again (redelivery)', record, candidate({ alertId: 'a1' }), 'redelivered'],
    ['review → block', record, candidate({ level: 2 }), 'escalated'],
    ['another review inside the period', record, candidate({}), 'suppressed'],
    ['a review after the period', record, candidate({ eventTimeMs: 1_000_000 + period }), 'new'],
    ['a review far before the period (out of order)', record, candidate({ eventTimeMs: 1_000_000 - period - 1 }), 'new'],
  ])('%s → %s', (_name, rec, cand, verdict) => {
    expect(suppressionVerdict(rec, cand, period)).toBe(verdict);
  });

  it('lets one alert per card through per period, in order, within one chunk', async () => {
    const suppressor = createMemorySuppressor(period);
    const outcomes = await suppressor.check([
      { cardToken: 'c1', alertId: 'x1', eventTimeMs: 0, level: 1, publication: 'x1 first' },
      { cardToken: 'c1', alertId: 'x2', eventTimeMs: 1000, level: 1, publication: 'x2 first' },
      { cardToken: 'c2', alertId: 'y1', eventTimeMs: 1000, level: 1, publication: 'y1 first' },
      { cardToken: 'c1', alertId: 'x3', eventTimeMs: 2000, level: 2, publication: 'x3 first' },
      { cardToken: 'c1', alertId: 'x4', eventTimeMs: 3000, level: 2, publication: 'x4 first' },
      { cardToken: 'c1', alertId: 'x3', eventTimeMs: 2000, level: 2, publication: 'x3 rescored' },
    ]);
    expect(outcomes.map((o) => o.verdict)).toEqual(['new', 'suppressed', 'new', 'escalated', 'suppressed', 'redelivered']);
    expect(outcomes[5].firstPublication).toBe('x3 first');
  });

  it('republishes a redelivered alert as first published, even once another alert owns the period', async () => {
    const suppressor = createMemorySuppressor(period);
    await suppressor.check([{ cardToken: 'c1', alertId: 'x1', eventTimeMs: 0, level: 1, publication: 'x1 first' }]);
    await suppressor.check([{ cardToken: 'c1', alertId: 'x2', eventTimeMs: 1000, level: 2, publication: 'x2 first' }]);
    const [again] = await suppressor.check([{ cardToken: 'c1', alertId: 'x1', eventTimeMs: 0, level: 1, publication: 'x1 rescored' }]);
    expect(again).toEqual({ verdict: 'redelivered', firstPublication: 'x1 first' });
    // A suppressed alert was never published: its redelivery is judged afresh, with no memo.
    const [suppressed] = await suppressor.check([{ cardToken: 'c1', alertId: 'x3', eventTimeMs: 2000, level: 1, publication: 'x3' }]);
    expect(suppressed).toEqual({ verdict: 'suppressed' });
    const [suppressedAgain] = await suppressor.check([{ cardToken: 'c1', alertId: 'x3', eventTimeMs: 2000, level: 1, publication: 'x3 rescored' }]);
    expect(suppressedAgain).toEqual({ verdict: 'suppressed' });
  });
});
