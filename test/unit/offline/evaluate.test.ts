import type { CardTransaction } from '../../../src/contract';
import type { ReplayRow } from '../../../src/offline/dataset';
import { Evaluation, formatEvaluation } from '../../../src/offline/evaluate';
import type { ModelScorer } from '../../../src/model/scorer';
import type { RuleHit } from '../../../src/rules/compile';

const DAY = 86_400_000;
const D0 = Date.parse('2026-02-20T00:00:00Z');

function row(id: string, at: number, card: string, modelScore: number, options: { fraudReportedAt?: number; ruleScore?: number } = {}): ReplayRow {
  const transaction: CardTransaction = { transactionId: id, eventTimeMs: at, timestamp: new Date(at).toISOString(), cardToken: card, amount: 1, currency: 'KZT', approved: true };
  // The stand-in model reads its score from feature 0, the stand-in rules theirs from feature 1.
  const r: ReplayRow = { transaction, features: Float64Array.of(modelScore, options.ruleScore ?? 0), duplicate: false, tooOld: false };
  if (options.fraudReportedAt !== undefined) r.fraudLabel = { transactionId: id, cardToken: card, label: 'fraud', reportedAtMs: options.fraudReportedAt };
  return r;
}

const model = { version: 'stub', scoreBatch: (features: readonly ArrayLike<number>[]) => Float32Array.from(features, (f) => f[0]) } as unknown as ModelScorer;
const rules = (_: CardTransaction, features: Float64Array): RuleHit[] =>
  features[1] > 0 ? [{ ruleId: 'r', action: 'review', score: features[1], shadow: false, reason: { code: 'R', message: 'r' } }] : [];

describe('Evaluation', () => {
  // Before the test: card K's fraud is reported on day −1, so K is known compromised throughout the test.
  // Test day 0: A fraud (rules .6, model .25), B genuine (rules 0, model .75), C fraud (rules 0, model .5), K (excluded).
  // Test day 1: D genuine (rules .5, model 0), A fraud again (model .75: A was not detected by the model on day 0).
  const rows = [
    row('k0', D0 - 2 * DAY, 'K', 0.1, { fraudReportedAt: D0 - DAY }),
    row('a0', D0 + 1000, 'A', 0.25, { ruleScore: 0.6, fraudReportedAt: D0 + 5 * DAY }),
    row('b0', D0 + 2000, 'B', 0.75),
    row('c0', D0 + 3000, 'C', 0.5, { fraudReportedAt: D0 + 9 * DAY }),
    row('k1', D0 + 4000, 'K', 0.99, { fraudReportedAt: D0 + 9 * DAY }),
    row('d1', D0 + DAY + 1000, 'D', 0, { ruleScore: 0.5 }),
    row('a1', D0 + DAY + 2000, 'A', 0.75, { fraudReportedAt: D0 + 9 * DAY }),
  ];

  function evaluate() {
    const evaluation = new Evaluation({ from: D0, to: Number.POSITIVE_INFINITY, model, rules, policy: { reviewThreshold: 0.5, blockThreshold: 0.85 }, k: 1 });
    evaluation.add(rows.slice(0, 3));
    evaluation.add(rows.slice(3));
    return evaluation.result();
  }

  it('scores rules, model and the combined policy on the test rows, leaving known-compromised cards out', () => {
    const { report } = evaluate();
    expect(report.rows).toEqual({ scored: 5, excludedKnownCompromised: 1, skippedDuplicateOrLate: 0, frauds: 3, fraudCards: 2, days: 2 });
    expect(report.testPeriod).toEqual({ from: new Date(D0).toISOString(), to: new Date(D0 + DAY + 2001).toISOString() });
    // Model scores a0 .25, b0 .75, c0 .5, d1 0, a1 .75; fraud a0, c0, a1; genuine b0, d1. Pairs won against
    // (b0, d1): a0 (0, 1), c0 (0, 1), a1 (½ for the tie, 1) → 3.5 of 6.
    expect(report.systems.model!.auc).toBeCloseTo(3.5 / 6, 12);
    // CP@1 per day, cards ranked by their best score that day; a card detected on day 0 leaves day 1.
    // Rules: day 0 A (.6) fraud → 1, so A leaves; day 1 only D → 0.
    // Model: day 0 B (.75) genuine → 0; day 1 A (.75) beats D (0) → 1.
    // Combined: day 0 B .75 beats A .7 → 0; day 1 A .75 beats D .5 → 1.
    expect(report.perDay).toEqual([
      { date: '2026-02-20', cards: 3, fraudCards: 2, rules: 1, model: 0, combined: 0 },
      { date: '2026-02-21', cards: 2, fraudCards: 1, rules: 0, model: 1, combined: 1 },
    ]);
    expect(report.systems.rules!.cardPrecisionAtK).toBe(0.5);
    // Combined on a0 = 1 − (1 − .6)(1 − .25) = .7: review alerts a0 .7, b0 .75, c0 .5, d1 .5, a1 .75 → all 5.
    expect(report.systems.combined!.alerts.review).toEqual({ alerts: 5, truePositives: 3, precision: 0.6, recall: 1 });
    expect(report.systems.combined!.alerts.block).toEqual({ alerts: 0, truePositives: 0, precision: null, recall: 0 });
    // Rules alone: the rule's own action (review) alerts on a0 and d1.
    expect(report.systems.rules!.alerts.review).toEqual({ alerts: 2, truePositives: 1, precision: 0.5, recall: 1 / 3 });
    // The stand-in rule fired on a0 (fraud) and d1 (genuine).
    expect(report.ruleHits).toEqual([{ rule: 'r', score: 0.6, shadow: false, hits: 2, frauds: 1, precision: 0.5 }]);
    expect(formatEvaluation(report)).toMatch(/^model +\| +58\.3%/m);
  });

  it('scores baselines on the same rows beside the model, and lists every scored row for --scores-out', () => {
    // A baseline that reads the rules' feature: it ranks like the rules, with thresholds for actions.
    const evaluation = new Evaluation({
      from: D0,
      to: Number.POSITIVE_INFINITY,
      model,
      rules,
      baselines: { gbt: (features) => Float32Array.from(features, (f) => f[1]) },
      policy: { reviewThreshold: 0.5, blockThreshold: 0.85 },
      k: 1,
    });
    evaluation.add(rows);
    const { report } = evaluation.result();
    expect(Object.keys(report.systems)).toEqual(['rules', 'gbt', 'model', 'combined']);
    expect(report.systems.gbt!.cardPrecisionAtK).toBe(report.systems.rules!.cardPrecisionAtK);
    // gbt scores a0 .6 and d1 .5 (review), the rest 0.
    expect(report.systems.gbt!.alerts.review).toEqual({ alerts: 2, truePositives: 1, precision: 0.5, recall: 1 / 3 });
    const scored = [...evaluation.scoredRows()];
    // k1 is left out (card known compromised), as in the figures.
    expect(scored.map((r) => r.transactionId)).toEqual(['a0', 'b0', 'c0', 'd1', 'a1']);
    expect(scored[0]).toEqual({
      transactionId: 'a0',
      cardToken: 'A',
      eventTime: new Date(D0 + 1000).toISOString(),
      fraudLabelReportedAt: new Date(D0 + 5 * DAY).toISOString(),
      isFraud: 1,
      scores: { rules: expect.closeTo(0.6, 6), gbt: expect.closeTo(0.6, 6), model: 0.25, combined: expect.closeTo(0.7, 6) },
      action: 'review',
    });
    expect(scored[1].fraudLabelReportedAt).toBeNull();
  });

  it("scores the combined system with the model's fitted combination when given one", () => {
    // a = 1, b = 0 keeps the model's score; the rule adds ln 3 (odds × 3) instead of its hand-set 0.6.
    const combination = { rulesVersion: 'v', modelWeight: 1, intercept: 0, baseRate: 0.01, ruleWeights: { r: Math.log(3) } };
    const evaluation = new Evaluation({ from: D0, to: Number.POSITIVE_INFINITY, model, rules, policy: { reviewThreshold: 0.5, blockThreshold: 0.85 }, combination, k: 1 });
    evaluation.add(rows);
    const { report } = evaluation.result();
    expect(report.combination).toEqual(combination);
    // a0: model .25 → odds 1/3, × 3 → 1 → 0.5; d1: model 0 (clamped) × 3 → ~0. b0 .75 still outranks a0 on day 0.
    expect(report.perDay.map((d) => d.combined)).toEqual([0, 1]);
    // Alerts: a0 (.5 and its rule), b0 .75, c0 .5, a1 .75, and d1 by its rule's own review action.
    expect(report.systems.combined!.alerts.review).toEqual({ alerts: 5, truePositives: 3, precision: 0.6, recall: 1 });
    expect(formatEvaluation(report)).toContain('combined = sigmoid(1 · logit(model) + 0 + Σ rule weights), fitted with rules v; weights: r 1.0986');
  });

  it('judges against a truth file when given one, and breaks recall down by scenario', () => {
    const evaluation = new Evaluation({ from: D0, to: D0 + 2 * DAY, model, rules, policy: { reviewThreshold: 0.5, blockThreshold: 0.85 }, k: 1, truth: new Map([['b0', 'card-testing']]) });
    evaluation.add(rows);
    const { report } = evaluation.result();
    expect(report.rows.frauds).toBe(1);
    expect(report.alertRecallByScenario).toEqual({ 'card-testing': { frauds: 1, rules: 0, model: 1, combined: 1 } });
  });
});
