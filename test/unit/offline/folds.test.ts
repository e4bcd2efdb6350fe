import { lastWeeksStart, meanAndSpread, planFolds, summariseFolds } from '../../../src/offline/folds';
import type { EvaluationReport } from '../../../src/offline/evaluate';

const DAY = 86_400_000;
const at = (date: string) => Date.parse(`${date}T00:00:00Z`);

describe('planFolds', () => {
  it('slides a training period of its own before each test week, a label delay apart, labels known at the test start', () => {
    const plans = planFolds({ folds: 2, firstTestFrom: at('2026-02-09'), testDays: 7, trainDays: 21, gapDays: 7, validationDays: 7 });
    expect(plans).toEqual([
      { fold: 1, trainFrom: at('2026-01-12'), trainTo: at('2026-02-02'), validationFrom: at('2026-01-26'), labelsKnownAt: at('2026-02-09'), testFrom: at('2026-02-09'), testTo: at('2026-02-16') },
      { fold: 2, trainFrom: at('2026-01-19'), trainTo: at('2026-02-09'), validationFrom: at('2026-02-02'), labelsKnownAt: at('2026-02-16'), testFrom: at('2026-02-16'), testTo: at('2026-02-23') },
    ]);
    // No fold learns from its own test week: rows and labels stop at its start.
    for (const p of plans) expect(Math.max(p.trainTo, p.labelsKnownAt)).toBeLessThanOrEqual(p.testFrom);
  });

  it('refuses a validation set as long as the training period', () => {
    expect(() => planFolds({ folds: 1, firstTestFrom: 0, testDays: 7, trainDays: 7, gapDays: 7, validationDays: 7 })).toThrow(/validation/);
  });

  it('by default tests the last weeks of the input, whole days, the last one ending with the last row', () => {
    const last = at('2026-03-08') + 19 * 3_600_000;
    const first = lastWeeksStart(last, 4, 7);
    expect(first).toBe(at('2026-02-09'));
    expect(first + 28 * DAY).toBeGreaterThan(last);
  });
});

describe('summariseFolds', () => {
  it('gives the mean and the sample standard deviation per system and figure, skipping folds without one', () => {
    expect(meanAndSpread([0.5, 0.7, null])).toEqual({ mean: 0.6, std: expect.closeTo(Math.SQRT2 / 10, 12), folds: 2 });
    expect(meanAndSpread([0.5])).toEqual({ mean: 0.5, std: null, folds: 1 });
    expect(meanAndSpread([])).toEqual({ mean: null, std: null, folds: 0 });
    const figures = (auc: number) => ({ auc, averagePrecision: auc / 2, cardPrecisionAtK: null, alerts: {} }) as never;
    const reports = [{ systems: { rules: figures(0.8), gbt: figures(0.9) } }, { systems: { rules: figures(0.6) } }] as unknown as EvaluationReport[];
    const summary = summariseFolds(reports);
    expect(Object.keys(summary)).toEqual(['rules', 'gbt']);
    expect(summary.rules!.auc.mean).toBeCloseTo(0.7, 12);
    expect(summary.rules!.averagePrecision.mean).toBeCloseTo(0.35, 12);
    expect(summary.rules!.cardPrecisionAtK).toEqual({ mean: null, std: null, folds: 0 });
    expect(summary.gbt!.auc).toEqual({ mean: 0.9, std: null, folds: 1 });
  });
});
