import type { CardTransaction } from '../../../src/contract';
import { decide, logit } from '../../../src/decision/policy';
import { CombinationData, fitCombination, formatCombinationFit, type CombinationRow } from '../../../src/offline/combination';
import type { ReplayRow } from '../../../src/offline/dataset';
import type { ModelScorer } from '../../../src/model/scorer';

const rows = (count: number, row: CombinationRow): CombinationRow[] => Array.from({ length: count }, () => row);

describe('fitCombination', () => {
  it('recovers the closed form when the model is uninformative: b and w are the log-odds of the two groups', () => {
    // Every row has model score 0.5 (logit 0), so a·logit(m) is 0 and only b and w are identified.
    // Without the rule: 10 fraud in 1000 → b = logit(0.01). With it: 50 fraud in 200 → b + w = logit(0.25).
    // With a tiny ridge the fit is the maximum-likelihood answer: w = ln(1/3) − ln(1/99) = ln 33 = 3.4965.
    const data = [
      ...rows(10, { modelScore: 0.5, ruleIds: [], isFraud: 1 }),
      ...rows(990, { modelScore: 0.5, ruleIds: [], isFraud: 0 }),
      ...rows(50, { modelScore: 0.5, ruleIds: ['velocity'], isFraud: 1 }),
      ...rows(150, { modelScore: 0.5, ruleIds: ['velocity'], isFraud: 0 }),
    ];
    // logit(m) is 0 on every row: a is not identified; give it one informative row pair far away so it is.
    data.push({ modelScore: 1e-6, ruleIds: [], isFraud: 0 });
    const fit = fitCombination(data, { l2: 1e-9, modelScale: false });
    expect(fit.intercept).toBeCloseTo(logit(0.01), 2);
    expect(fit.ruleWeights.velocity).toBeCloseTo(Math.log(33), 2);
    expect(fit.rules).toEqual([
      { rule: 'velocity', hits: 200, frauds: 50, precision: 0.25, weight: fit.ruleWeights.velocity },
    ]);
    expect(fit.baseRate).toBeCloseTo(60 / 1201, 5);
  });

  it('recovers a and b when the truth is a known logistic curve of the model score', () => {
    // Rows at logit(m) = −4, −2, 0 with fraud rates sigmoid(0.5·x − 1): exact counts out of 10 000 each.
    const data: CombinationRow[] = [];
    for (const x of [-4, -2, 0]) {
      const rate = 1 / (1 + Math.exp(-(0.5 * x - 1)));
      const frauds = Math.round(rate * 10_000);
      const m = 1 / (1 + Math.exp(-x));
      data.push(...rows(frauds, { modelScore: m, ruleIds: [], isFraud: 1 }), ...rows(10_000 - frauds, { modelScore: m, ruleIds: [], isFraud: 0 }));
    }
    const fit = fitCombination(data, { modelScale: false });
    expect(fit.modelWeight).toBeCloseTo(0.5, 2);
    expect(fit.intercept).toBeCloseTo(-1, 2);
    expect(fit.ruleWeights).toEqual({});
  });

  it("expresses the weights on the model's scale by default: a = 1, b = 0, w / a — the same ranking, the model's own score where no rule fired", () => {
    // Truth: fraud odds = e^(0.5·logit(m) − 1) × 4 when the rule fires. Fitted a = 0.5, w = ln 4; on the model's
    // scale the rule adds ln 4 / 0.5 = ln 16.
    const data: CombinationRow[] = [];
    for (const x of [-4, -2, 0]) {
      for (const fired of [false, true]) {
        const rate = 1 / (1 + Math.exp(-(0.5 * x - 1 + (fired ? Math.log(4) : 0))));
        const frauds = Math.round(rate * 10_000);
        const m = 1 / (1 + Math.exp(-x));
        const ruleIds = fired ? ['r'] : [];
        data.push(...rows(frauds, { modelScore: m, ruleIds, isFraud: 1 }), ...rows(10_000 - frauds, { modelScore: m, ruleIds, isFraud: 0 }));
      }
    }
    const raw = fitCombination(data, { modelScale: false, l2: 0 });
    const scaled = fitCombination(data, { l2: 0 });
    expect(raw.modelWeight).toBeCloseTo(0.5, 2);
    expect(raw.ruleWeights.r).toBeCloseTo(Math.log(4), 2);
    expect(scaled).toMatchObject({ modelWeight: 1, intercept: 0, fitted: { modelWeight: raw.modelWeight, intercept: raw.intercept } });
    expect(scaled.ruleWeights.r).toBeCloseTo(raw.ruleWeights.r / raw.modelWeight, 4);
    expect(scaled.ruleWeights.r).toBeCloseTo(Math.log(16), 1);
  });

  it('refuses to express on its scale a model whose fitted weight is not positive', () => {
    const data = [...rows(10, { modelScore: 0.01, ruleIds: [], isFraud: 1 }), ...rows(90, { modelScore: 0.01, ruleIds: [], isFraud: 0 }), ...rows(100, { modelScore: 0.9, ruleIds: [], isFraud: 0 })];
    expect(() => fitCombination(data)).toThrow(/does not rank fraud higher/);
  });

  it('pins at 0 a rule that fires more on genuine than the model predicts (weights are never negative)', () => {
    const data = [
      ...rows(10, { modelScore: 0.5, ruleIds: [], isFraud: 1 }),
      ...rows(990, { modelScore: 0.5, ruleIds: [], isFraud: 0 }),
      ...rows(1, { modelScore: 0.5, ruleIds: ['noisy'], isFraud: 1 }),
      ...rows(999, { modelScore: 0.5, ruleIds: ['noisy'], isFraud: 0 }),
      { modelScore: 1e-6, ruleIds: [], isFraud: 0 },
    ];
    const fit = fitCombination(data);
    expect(fit.ruleWeights.noisy).toBe(0);
  });

  it('keeps a rule that fired only on fraud finite (ridge), and smaller the fewer its hits', () => {
    const base = [...rows(20, { modelScore: 0.02, ruleIds: [], isFraud: 1 }), ...rows(980, { modelScore: 0.02, ruleIds: [], isFraud: 0 }), { modelScore: 0.5, ruleIds: [], isFraud: 0 }];
    const few = fitCombination([...base, ...rows(3, { modelScore: 0.02, ruleIds: ['testing'], isFraud: 1 })], { modelScale: false });
    const many = fitCombination([...base, ...rows(30, { modelScore: 0.02, ruleIds: ['testing'], isFraud: 1 })], { modelScale: false });
    expect(Number.isFinite(few.ruleWeights.testing)).toBe(true);
    expect(few.ruleWeights.testing).toBeGreaterThan(0);
    expect(many.ruleWeights.testing).toBeGreaterThan(few.ruleWeights.testing);
  });

  it('leaves a rule with fewer hits than minRuleHits uncalibrated, and is deterministic', () => {
    const data = [
      ...rows(10, { modelScore: 0.3, ruleIds: [], isFraud: 1 }),
      ...rows(20, { modelScore: 0.3, ruleIds: [], isFraud: 0 }),
      ...rows(5, { modelScore: 0.1, ruleIds: ['rare'], isFraud: 1 }),
      ...rows(85, { modelScore: 0.1, ruleIds: ['rare'], isFraud: 0 }),
    ];
    const fit = fitCombination(data, { minRuleHits: 100 });
    expect(fit.ruleWeights).toEqual({});
    expect(fit.rules[0]).toMatchObject({ rule: 'rare', hits: 90, frauds: 5, weight: null });
    expect(fitCombination(data, { minRuleHits: 100 })).toEqual(fit);
    expect(formatCombinationFit(fit)).toContain('too few hits');
  });

  it('refuses rows without both classes', () => {
    expect(() => fitCombination(rows(5, { modelScore: 0.1, ruleIds: [], isFraud: 0 }))).toThrow(/both classes/);
    expect(() => fitCombination([])).toThrow(/no rows/);
  });
});

describe('CombinationData (no leakage)', () => {
  const DAY = 86_400_000;
  const from = Date.parse('2026-02-06T00:00:00Z');
  const to = from + 7 * DAY;
  const labelsKnownAt = to + 7 * DAY;
  const model = { scoreBatch: (features: readonly ArrayLike<number>[]) => Float32Array.from(features, (f) => f[0]) } as unknown as ModelScorer;
  const rules = (row: ReplayRow) => (row.features[1] > 0 ? [{ ruleId: 'r', shadow: false }, { ruleId: 'tuning', shadow: true }] : []);

  function row(id: string, at: number, card: string, options: { reportedAt?: number; rule?: boolean; duplicate?: boolean } = {}): ReplayRow {
    const transaction: CardTransaction = { transactionId: id, eventTimeMs: at, timestamp: new Date(at).toISOString(), cardToken: card, amount: 1, currency: 'KZT', approved: true };
    const r: ReplayRow = { transaction, features: Float64Array.of(0.25, options.rule ? 1 : 0), duplicate: options.duplicate ?? false, tooOld: false };
    if (options.reportedAt !== undefined) r.fraudLabel = { transactionId: id, cardToken: card, label: 'fraud', reportedAtMs: options.reportedAt };
    return r;
  }

  it('fits only rows of the window, with only the labels reported before the cut-off', () => {
    const data = new CombinationData({ from, to, labelsKnownAt }, model, rules);
    data.add([
      row('before', from - DAY, 'A'), // warm-up: not a fit row
      row('known', from + 1000, 'B', { reportedAt: from + 2 * DAY, rule: true }), // fraud, reported in time
      row('late', from + 2000, 'C', { reportedAt: labelsKnownAt }), // reported at the cut-off: not known, genuine
      row('dup', from + 3000, 'D', { duplicate: true }),
    ]);
    data.add([
      row('test', to, 'E', { reportedAt: to + DAY }), // the test period: never a fit row, even with a known label
      row('test2', to + 5 * DAY, 'F', { reportedAt: to + 6 * DAY, rule: true }),
    ]);
    expect(data.rows).toEqual([
      { modelScore: 0.25, ruleIds: ['r'], isFraud: 1 },
      { modelScore: 0.25, ruleIds: [], isFraud: 0 },
    ]);
    expect(data.skippedDuplicateOrLate).toBe(1);
  });

  it('leaves out the rows of a card known compromised before their day, as the evaluation does', () => {
    const data = new CombinationData({ from, to, labelsKnownAt }, model, rules);
    data.add([
      row('first', from + 1000, 'A', { reportedAt: from + 1000 + DAY / 2 }),
      row('same-day', from + 2000, 'A'),
      row('next-day', from + 2 * DAY, 'A'),
    ]);
    expect(data.rows.map((r) => r.isFraud)).toEqual([1, 0]);
    expect(data.excludedKnownCompromised).toBe(1);
  });

  it('gives the policy what it was fitted on: a fitted rule weight raises the combined score', () => {
    const fit = fitCombination([
      ...rows(10, { modelScore: 0.5, ruleIds: [], isFraud: 1 }),
      ...rows(990, { modelScore: 0.5, ruleIds: [], isFraud: 0 }),
      ...rows(50, { modelScore: 0.5, ruleIds: ['r'], isFraud: 1 }),
      ...rows(150, { modelScore: 0.5, ruleIds: ['r'], isFraud: 0 }),
      { modelScore: 1e-6, ruleIds: [], isFraud: 0 },
    ], { l2: 1e-9, modelScale: false });
    const combination = { rulesVersion: 'v', modelWeight: fit.modelWeight, intercept: fit.intercept, baseRate: fit.baseRate, ruleWeights: fit.ruleWeights };
    const hit = { ruleId: 'r', score: 0.9, action: 'evidence' as const, shadow: false, reason: { code: 'R', message: 'r' } };
    const policy = { reviewThreshold: 0.5, blockThreshold: 0.85 };
    // The group rates come back: 1 % without the rule, 25 % with it (not the hand-set 0.9).
    expect(decide({ hits: [], modelScore: 0.5, combination }, policy).score).toBeCloseTo(0.01, 2);
    expect(decide({ hits: [hit], modelScore: 0.5, combination }, policy).score).toBeCloseTo(0.25, 2);
  });
});
