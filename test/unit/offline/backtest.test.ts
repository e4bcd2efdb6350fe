import type { CardTransaction } from '../../../src/contract';
import type { ModelScorer } from '../../../src/model/scorer';
import { BacktestDiff, createSideScorer, formatBacktest, MODEL_CAUSE, type BacktestReport, type BacktestSide, type ChangedDecision } from '../../../src/offline/backtest';
import type { ReplayRow } from '../../../src/offline/dataset';
import { compileRuleSet, type RuleSet } from '../../../src/rules';
import { FEATURE_INDEX, features, txn } from '../rules/fixtures';

const POLICY = { reviewThreshold: 0.5, blockThreshold: 0.85 };

/** The baseline: ten-minute velocity over 5 (review) and a large amount (review). */
const BASELINE = `
version: "base.1"
rules:
  - id: card_velocity
    description: Many transactions in ten minutes.
    when: { card.count_10m: { gt: 5 } }
    score: 0.45
    action: review
    reason: { code: CARD_VELOCITY_10M, message: "{value} transactions in 10 minutes (limit {threshold})" }
  - id: large_amount
    description: A large amount.
    when: { txn.amount: { gte: 100000 } }
    score: 0.6
    action: review
    reason: { code: LARGE_AMOUNT, message: "amount {value} (limit {threshold})" }
`;

const rules = (yaml: string): RuleSet => compileRuleSet(yaml, { featureIndex: FEATURE_INDEX, sourceName: 'test.yaml' });
const candidate = (edit: (yaml: string) => string): RuleSet => rules(edit(BASELINE).replace('base.1', 'candidate.1'));

const T0 = Date.parse('2026-11-30T09:00:00Z');
const HOUR = 3_600_000;

/**
 * Twelve transactions on twelve cards (one alert each at most, so suppression never hides one), an hour apart:
 * velocity 0..11 on the first eight, large amounts on the last four; a fraud label on every other one.
 */
function fixtureRows(): Array<ReplayRow & { fraud: boolean }> {
  return Array.from({ length: 12 }, (_, i) => {
    const transaction: CardTransaction = txn({
      transactionId: `t${String(i).padStart(2, '0')}`,
      eventTimeMs: T0 + i * HOUR,
      timestamp: new Date(T0 + i * HOUR).toISOString(),
      cardToken: `card-${i}`,
      maskedPan: '400000******0002',
      amount: i >= 8 ? 150_000 : 8500,
      country: i === 3 ? 'TR' : 'KZ',
    });
    return { transaction, features: features({ 'card.count_10m': i }), duplicate: false, tooOld: false, fraud: i % 2 === 1 };
  });
}

async function backtest(baseline: BacktestSide, other: BacktestSide, rows = fixtureRows(), sampleSize = 10): Promise<{ report: BacktestReport; changed: ChangedDecision[] }> {
  const settings = { policy: POLICY, suppressionSeconds: 3600 };
  const [scoreBaseline, scoreCandidate] = [createSideScorer(baseline, settings), createSideScorer(other, settings)];
  const diff = new BacktestDiff(sampleSize);
  const changed: ChangedDecision[] = [];
  // Two chunks, as a replay yields them.
  for (const chunk of [rows.slice(0, 5), rows.slice(5)]) {
    const [b, c] = await Promise.all([scoreBaseline(chunk), scoreCandidate(chunk)]);
    chunk.forEach((row, i) => {
      const change = diff.add({ transaction: row.transaction, fraud: row.fraud, baseline: b[i], candidate: c[i] });
      if (change) changed.push(change);
    });
  }
  return { report: diff.result(), changed };
}

const ids = (changed: ChangedDecision[]) => changed.map((c) => c.transactionId);

describe('backtest decision diff', () => {
  it('a rule added: its alerts are added and attributed to it', async () => {
    const added = candidate(
      (y) =>
        `${y}  - id: foreign_country
    description: Abroad.
    when: { txn.country: { ne: KZ } }
    score: 0.5
    action: review
    reason: { code: FOREIGN_COUNTRY, message: "in {txn.country}" }
`,
    );
    const { report, changed } = await backtest({ rules: rules(BASELINE) }, { rules: added });
    // t03 (TR, velocity 3) is the only foreign transaction; t06, t07 alert already by velocity.
    expect(ids(changed)).toEqual(['t03']);
    expect(changed[0]).toMatchObject({ change: 'added', causes: ['foreign_country'], fraud: true, baseline: { action: 'allow' }, candidate: { action: 'review' } });
    expect(changed[0].candidate.reasons).toEqual([{ code: 'FOREIGN_COUNTRY', message: 'in TR' }]);
    expect(report.changes).toMatchObject({ total: 1, added: { decisions: 1, frauds: 1 }, removed: { decisions: 0 }, changed: { decisions: 0 } });
    expect(report.byRule).toEqual([{ rule: 'foreign_country', added: { decisions: 1, frauds: 1 }, removed: { decisions: 0, frauds: 0 }, changed: { decisions: 0, frauds: 0 } }]);
    expect(report.byReason.map((r) => r.code)).toEqual(['FOREIGN_COUNTRY']);
  });

  it('a threshold lowered adds alerts, a threshold raised removes them, each attributed to that rule', async () => {
    const lowered = await backtest({ rules: rules(BASELINE) }, { rules: candidate((y) => y.replace('gt: 5', 'gt: 3')) });
    // Velocity 4 and 5 now alert; 6 and 7 alerted already and still do (the hit is the same rule with the same score).
    expect(ids(lowered.changed)).toEqual(['t04', 't05']);
    expect(lowered.changed.every((c) => c.change === 'added' && c.causes.join() === 'card_velocity')).toBe(true);
    expect(lowered.report.byRule).toEqual([{ rule: 'card_velocity', added: { decisions: 2, frauds: 1 }, removed: { decisions: 0, frauds: 0 }, changed: { decisions: 0, frauds: 0 } }]);
    expect(lowered.report.byReason).toEqual([{ code: 'CARD_VELOCITY_10M', added: { decisions: 2, frauds: 1 }, removed: { decisions: 0, frauds: 0 }, changed: { decisions: 0, frauds: 0 } }]);
    expect(lowered.changed[0].candidate.reasons[0].message).toBe('4 transactions in 10 minutes (limit 3)');

    const raised = await backtest({ rules: rules(BASELINE) }, { rules: candidate((y) => y.replace('gt: 5', 'gt: 6')) });
    // Velocity 6 stops alerting; 8..11 hit velocity and large amount: large amount keeps them alerts.
    expect(ids(raised.changed)).toEqual(['t06']);
    expect(raised.changed[0]).toMatchObject({ change: 'removed', causes: ['card_velocity'], fraud: false, baseline: { action: 'review' }, candidate: { action: 'allow', reasons: [] } });
    expect(raised.report.byReason.map((r) => [r.code, r.removed.decisions])).toEqual([['CARD_VELOCITY_10M', 1]]);
  });

  it('a rule removed: its alerts are removed and attributed to it; transactions another rule alerts on stay', async () => {
    const { report, changed } = await backtest({ rules: rules(BASELINE) }, { rules: candidate((y) => y.slice(0, y.indexOf('  - id: large_amount'))) });
    // The large amounts t08..t11 have velocity 8..11 > 5 too: still alerted by card_velocity, nothing changes.
    expect(changed).toEqual([]);
    expect(report.changes.total).toBe(0);

    // With velocity out of reach, large_amount alone alerted on them: removing it removes those alerts.
    const amountOnly = BASELINE.replace('gt: 5', 'gt: 100');
    const removed = await backtest({ rules: rules(amountOnly) }, { rules: rules(amountOnly.slice(0, amountOnly.indexOf('  - id: large_amount'))) });
    expect(ids(removed.changed)).toEqual(['t08', 't09', 't10', 't11']);
    expect(removed.changed.every((c) => c.change === 'removed' && c.causes.join() === 'large_amount')).toBe(true);
    expect(removed.report.byRule).toEqual([{ rule: 'large_amount', added: { decisions: 0, frauds: 0 }, removed: { decisions: 4, frauds: 2 }, changed: { decisions: 0, frauds: 0 } }]);
    // Precision and recall against the labels, both sides: 6 frauds (odd ids); the baseline alerts 4 of which 2 fraud.
    expect(removed.report.baseline.alerts).toEqual({ count: 4, frauds: 2, precision: 0.5, recall: 2 / 6 });
    expect(removed.report.candidate.alerts).toEqual({ count: 0, frauds: 0, precision: null, recall: 0 });
  });

  it('a rule turned shadow stops deciding (removed), a rule turned block changes review to block', async () => {
    const shadow = await backtest({ rules: rules(BASELINE) }, { rules: candidate((y) => y.replace('    action: review\n    reason: { code: CARD', '    action: review\n    mode: shadow\n    reason: { code: CARD')) });
    expect(ids(shadow.changed)).toEqual(['t06', 't07']);
    expect(shadow.report.byRule.map((r) => [r.rule, r.removed.decisions])).toEqual([['card_velocity', 2]]);

    const block = await backtest({ rules: rules(BASELINE) }, { rules: candidate((y) => y.replace('    action: review\n    reason: { code: LARGE', '    action: block\n    reason: { code: LARGE')) });
    expect(ids(block.changed)).toEqual(['t08', 't09', 't10', 't11']);
    expect(block.changed.every((c) => c.change === 'changed' && c.baseline.action === 'review' && c.candidate.action === 'block')).toBe(true);
    expect(block.report.changes.transitions).toEqual({ 'review → block': 4 });
    expect(block.report.candidate.blocks).toEqual({ count: 4, frauds: 2, precision: 0.5, recall: 2 / 6 });
  });

  it('a candidate model: changes are attributed to the model', async () => {
    // Stand-in models that read their score from one feature; the candidate scores velocity higher.
    const stub = (version: string, perCount: number) =>
      ({
        version,
        metadata: {},
        scoreBatch: (rows: readonly ArrayLike<number>[]) => Float32Array.from(rows, (f) => Math.min(1, f[FEATURE_INDEX['card.count_10m']] * perCount)),
        explain: (rows: readonly ArrayLike<number>[]) => rows.map(() => [{ code: 'MODEL_FEATURE', message: 'card.count_10m' }]),
      }) as unknown as ModelScorer;
    const noRules = rules('version: "none"\nrules: []\n');
    const { report, changed } = await backtest({ rules: noRules, model: stub('m1', 0.05) }, { rules: noRules, model: stub('m2', 0.1) });
    // m1: count · .05 reaches .5 (review) at 10; m2: count · .1 reviews from 5 and blocks (≥ .85) from 9.
    expect(report.baseline).toMatchObject({ review: 2, block: 0 });
    expect(report.candidate).toMatchObject({ review: 4, block: 3 });
    expect(report.changes).toMatchObject({ added: { decisions: 5 }, changed: { decisions: 2 }, removed: { decisions: 0 } });
    expect(new Set(changed.flatMap((c) => c.causes))).toEqual(new Set([MODEL_CAUSE]));
    expect(report.byReason.map((r) => [r.code, r.added.decisions, r.changed.decisions])).toEqual([['MODEL_FEATURE', 5, 2]]);
  });

  it('counts published alerts after suppression on each side', async () => {
    // One card, a minute apart: within one suppression period (an hour) only the first review alert goes out.
    const rows = fixtureRows().map((r, i) => ({ ...r, transaction: { ...r.transaction, cardToken: 'one-card', eventTimeMs: T0 + i * 60_000 } }));
    const { report } = await backtest({ rules: rules(BASELINE) }, { rules: candidate((y) => y.replace('gt: 5', 'gt: 3')) }, rows);
    expect(report.baseline).toMatchObject({ review: 6, published: 1 });
    expect(report.candidate).toMatchObject({ review: 8, published: 1 });
  });

  it('samples changed decisions by id hash, whatever the order they come in', async () => {
    const lowered = (y: string) => y.replace('gt: 5', 'gt: 0');
    const inOrder = await backtest({ rules: rules(BASELINE) }, { rules: candidate(lowered) }, fixtureRows(), 3);
    const reversed = await backtest({ rules: rules(BASELINE) }, { rules: candidate(lowered) }, fixtureRows().reverse(), 3);
    expect(inOrder.report.changes.added.decisions).toBe(5);
    expect(inOrder.report.sample).toHaveLength(3);
    expect(reversed.report.sample).toEqual(inOrder.report.sample);
  });

  it('prints the figures, the diff by rule and reason, and a sample with masked PANs only', async () => {
    const { report } = await backtest({ rules: rules(BASELINE) }, { rules: candidate((y) => y.replace('gt: 5', 'gt: 3')) });
    const text = formatBacktest(report, { baseline: 'rules base.1', candidate: 'rules candidate.1' });
    expect(text).toContain('compared 12 transactions, 2026-11-30T09:00:00.000Z .. 2026-11-30T20:00:00.000Z, 6 fraud');
    expect(text).toContain('alerts added 2 (1 fraud), removed 0 (0 fraud)');
    expect(text).toMatch(/card_velocity +\| +2 \(1 fraud\)/);
    expect(text).toContain('t04 card 400000******0002 8500 KZT — added by card_velocity');
    expect(text).toContain('candidate review 0.450  CARD_VELOCITY_10M: 4 transactions in 10 minutes (limit 3)');
  });
});
