/** Training rows from a features-logged scores file: what is used, what is skipped and why, labels joined by id. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CardLabel, DecisionMessage } from '../../../src/contract';
import type { ReplayRow } from '../../../src/offline/dataset';
import { LoggedFeaturesReport, readLoggedFeatureRows } from '../../../src/offline/logged-features';
import { FEATURE_NAMES } from '../../../src/state/features';

const token = 'a'.repeat(64);
const features = (base: number) => Object.fromEntries(FEATURE_NAMES.map((name, j) => [name, base + j]));
const record = (id: string, minute: number, extra: Partial<DecisionMessage> = {}): DecisionMessage => ({
  transactionId: id,
  cardToken: token,
  timestamp: `2026-11-30T06:${String(minute).padStart(2, '0')}:00Z`,
  score: 0.1,
  action: 'allow',
  reasons: [],
  rulesVersion: 'r1',
  features: features(minute),
  ...extra,
});

describe('readLoggedFeatureRows', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'card-shield-logged-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function read(lines: string[], labels: CardLabel[] = [], required: readonly string[] = FEATURE_NAMES) {
    const file = join(dir, 'scores.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = new LoggedFeaturesReport();
    const rows: ReplayRow[] = [];
    for await (const batch of readLoggedFeatureRows(file, { catalog: FEATURE_NAMES, required, labels, report, batchSize: 2 })) rows.push(...batch);
    return { rows, report };
  }

  it('turns each record into the vector it carried, in catalog order, with its earliest fraud label', async () => {
    const labels: CardLabel[] = [
      { transactionId: 't2', cardToken: 'bank-card', label: 'fraud', reportedAtMs: Date.parse('2026-12-09T00:00:00Z') },
      { transactionId: 't2', cardToken: 'bank-card', label: 'fraud', reportedAtMs: Date.parse('2026-12-05T00:00:00Z') },
      { transactionId: 't1', cardToken: 'bank-card', label: 'genuine', reportedAtMs: Date.parse('2026-12-05T00:00:00Z') },
    ];
    const { rows, report } = await read([record('t1', 1), record('t2', 2), record('t3', 3)].map((r) => JSON.stringify(r)), labels);
    expect(rows.map((r) => r.transaction.transactionId)).toEqual(['t1', 't2', 't3']);
    expect(Array.from(rows[1].features)).toEqual(FEATURE_NAMES.map((_, j) => 2 + j));
    expect(rows[1].transaction.eventTimeMs).toBe(Date.parse('2026-11-30T06:02:00Z'));
    expect(rows[1].transaction.cardToken).toBe(token);
    expect(rows[1].fraudLabel?.reportedAtMs).toBe(Date.parse('2026-12-05T00:00:00Z'));
    expect(rows[0].fraudLabel).toBeUndefined();
    expect(rows.every((r) => !r.duplicate && !r.tooOld)).toBe(true);
    expect(report.records).toBe(3);
    expect(report.skipped).toBe(0);
  });

  it('skips lines that are no decision record, carry no features or lack one the model needs, counted by reason', async () => {
    const partial = record('t4', 4);
    delete partial.features!['card.count_10m'];
    const { rows, report } = await read([
      JSON.stringify(record('t1', 1)),
      'not json',
      JSON.stringify({ ...record('t2', 2), score: 'high' }),
      JSON.stringify(record('t3', 3, { features: undefined })),
      JSON.stringify(partial),
      JSON.stringify(record('t5', 5)),
    ]);
    expect(rows.map((r) => r.transaction.transactionId)).toEqual(['t1', 't5']);
    expect(report.skipped).toBe(4);
    expect(Object.fromEntries(report.byReason)).toEqual({ 'not a decision record': 2, 'no features': 1, 'missing features': 1 });
    expect(report.problems.find((p) => p.startsWith('scores.ndjson:5'))).toContain('card.count_10m');
  });

  it('needs only the features the model reads', async () => {
    const partial = record('t1', 1);
    delete partial.features!['card.count_10m'];
    const { rows, report } = await read([JSON.stringify(partial)], [], ['card.count_1h', 'card.amount_1h']);
    expect(report.skipped).toBe(0);
    expect(rows[0].features[FEATURE_NAMES.indexOf('card.count_1h')]).toBe(1 + FEATURE_NAMES.indexOf('card.count_1h'));
    expect(Number.isNaN(rows[0].features[FEATURE_NAMES.indexOf('card.count_10m')])).toBe(true);
  });

  it('counts a redelivered transaction once, as first logged', async () => {
    const { rows } = await read([JSON.stringify(record('t1', 1)), JSON.stringify(record('t1', 1, { features: features(100) }))]);
    expect(rows.map((r) => r.duplicate)).toEqual([false, true]);
    expect(rows[0].features[0]).toBe(1);
  });

  it('refuses a feature the catalog does not have', async () => {
    await expect(read([JSON.stringify(record('t1', 1))], [], ['card.no_such_feature'])).rejects.toThrow('card.no_such_feature');
  });
});
