import { fitGradientBoosting, fitLogisticRegression } from '../../../src/offline/baselines';
import { averagePrecision, rocAuc } from '../../../src/offline/metrics';
import { Random } from '../../../src/sim/random';

/** Rows of `width` raw values; `label` decides each row's truth from its values. */
function dataset(rows: number, width: number, seed: number, label: (row: number[], random: Random) => number) {
  const random = new Random(seed, 'baselines-test');
  const matrix = new Float64Array(rows * width);
  const labels = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const row = Array.from({ length: width }, () => random.next() * 10);
    matrix.set(row, i * width);
    labels[i] = label(row, random);
  }
  return { matrix, labels, rows, width };
}

describe('fitLogisticRegression', () => {
  it('separates linearly separable rows and ranks fresh rows of the same rule almost perfectly', () => {
    const rule = (row: number[]) => (row[0] + 2 * row[1] > 22 ? 1 : 0);
    const train = dataset(3000, 4, 1, rule);
    const test = dataset(2000, 4, 2, rule);
    const model = fitLogisticRegression(train.matrix, train.rows, train.width, train.labels, { l2: 0.01 });
    const scores = model.score(test.matrix, test.rows);
    expect(rocAuc(scores, test.labels)).toBeGreaterThan(0.99);
    expect(averagePrecision(scores, test.labels)).toBeGreaterThan(0.95);
  });

  it('is calibrated on a noisy signal: the mean score matches the fraud rate, and a constant column does no harm', () => {
    const train = dataset(4000, 3, 3, (row, random) => (random.chance(row[0] > 8 ? 0.5 : 0.02) ? 1 : 0));
    for (let i = 0; i < train.rows; i++) train.matrix[i * 3 + 2] = 7; // constant: as a field the CSV lacks
    const model = fitLogisticRegression(train.matrix, train.rows, train.width, train.labels);
    const scores = model.score(train.matrix, train.rows);
    const meanScore = scores.reduce((a, b) => a + b, 0) / scores.length;
    const rate = train.labels.reduce((a, b) => a + b, 0) / train.rows;
    expect(meanScore).toBeCloseTo(rate, 2);
    expect(scores.every(Number.isFinite)).toBe(true);
  });
});

describe('fitGradientBoosting', () => {
  it('learns an interaction a linear model cannot: fraud where exactly one of two features is high (XOR), among five', () => {
    const xor = (row: number[]) => (row[0] > 5 !== row[3] > 5 ? 1 : 0);
    const train = dataset(4000, 5, 4, xor);
    const test = dataset(2000, 5, 5, xor);
    const trees = fitGradientBoosting(train.matrix, train.rows, train.width, train.labels, { rounds: 60, maxDepth: 3 });
    const linear = fitLogisticRegression(train.matrix, train.rows, train.width, train.labels);
    const treeScores = trees.score(test.matrix, test.rows);
    expect(rocAuc(treeScores, test.labels)).toBeGreaterThan(0.99);
    expect(averagePrecision(treeScores, test.labels)).toBeGreaterThan(0.95);
    // No half-plane separates XOR: the linear baseline ranks about as well as chance.
    expect(rocAuc(linear.score(test.matrix, test.rows), test.labels)).toBeLessThan(0.6);
  });

  it('is deterministic, sends non-finite values left, and scores the base rate when no feature splits', () => {
    const train = dataset(1000, 2, 6, (row) => (row[1] > 5 ? 1 : 0));
    const a = fitGradientBoosting(train.matrix, train.rows, train.width, train.labels, { rounds: 20 });
    const b = fitGradientBoosting(train.matrix, train.rows, train.width, train.labels, { rounds: 20 });
    expect(Array.from(a.score(train.matrix, train.rows))).toEqual(Array.from(b.score(train.matrix, train.rows)));
    const nonFinite = a.score([NaN, NaN, 0, 0], 2);
    expect(nonFinite[0]).toBeCloseTo(nonFinite[1], 6);

    const constant = new Float64Array(200).fill(3);
    const labels = Float64Array.from({ length: 100 }, (_, i) => (i < 10 ? 1 : 0));
    const flat = fitGradientBoosting(constant, 100, 2, labels, { rounds: 10 });
    expect(flat.score([3, 3], 1)[0]).toBeCloseTo(0.1, 6);
  });
});
