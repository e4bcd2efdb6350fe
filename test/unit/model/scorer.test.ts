import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initialiseBackend, type BackendInfo } from '../../../src/model/backend';
import type { ModelMetadata } from '../../../src/model/artifact';
import { symlog } from '../../../src/model/preprocess';
import { createScorer, loadModel } from '../../../src/model/scorer';
import { FEATURE_NAMES } from '../../../src/state/features';

const catalog = ['card.amount', 'card.count_1h', 'card.amount_ratio_30d', 'terminal.fraud_rate_7d'];
const featureNames = ['card.amount_ratio_30d', 'card.amount', 'terminal.fraud_rate_7d'];
// Typical values 1, 20 and 0 in raw units.
const means = [symlog(1), symlog(20), 0];
const weights = [2, -1, 0.5];
const bias = -1;

const metadata: ModelMetadata = {
  format: 'card-shield-model/1',
  version: 'linear-test',
  createdAt: '2026-11-30T00:00:00.000Z',
  featureNames,
  inputTransform: 'symlog-standardise',
  means,
  stds: [1, 1, 1],
  weightsSha256: '0'.repeat(64),
  trainingPeriod: { from: '', to: '', labelsKnownAt: '' },
  dataSummary: { sources: [], transactions: 0, fraudTransactions: 0, cards: 0, fitRows: 0, validationRows: 0, negativeSampleRate: 1, skippedRecords: 0 },
  thresholds: { review: 0.5, block: 0.85, rule: 'fixed' },
  training: { seed: 1, hiddenUnits: [], epochs: 1, bestEpoch: 1, batchSize: 1, learningRate: 1, backend: 'test' },
  evaluation: {},
};

/** Logistic regression with known weights, so scores and contributions can be computed by hand. */
function linearModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', inputShape: [3] }));
  model.setWeights([tf.tensor2d(weights, [3, 1]), tf.tensor1d([bias])]);
  return model;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
function expectedScore(row: ArrayLike<number>): number {
  const z = [symlog(row[2]) - means[0], symlog(row[0]) - means[1], symlog(row[3]) - means[2]];
  return sigmoid(bias + z.reduce((sum, v, j) => sum + v * weights[j], 0));
}

const backend: BackendInfo = { name: 'cpu', simd: false, detail: 'test' };
beforeAll(async () => {
  await initialiseBackend();
});

describe('scorer', () => {
  const rows = [Float64Array.of(120, 3, 7.2, 0.01), Float64Array.of(15, 0, 0.9, 0), Float64Array.of(20, 99, 1, 0)];

  it('selects the model features by name from the catalog order and standardises them', () => {
    const scorer = createScorer(linearModel(), metadata, catalog, backend);
    const scores = scorer.scoreBatch(rows);
    rows.forEach((row, i) => expect(scores[i]).toBeCloseTo(expectedScore(row), 6));
    // count_1h is not a model feature: changing it changes nothing.
    expect(scorer.scoreBatch([Float64Array.of(120, 5000, 7.2, 0.01)])[0]).toBe(scores[0]);
    scorer.dispose();
  });

  it('scores a batch exactly as row by row, and an empty batch as nothing', () => {
    const scorer = createScorer(linearModel(), metadata, catalog, backend);
    const batch = scorer.scoreBatch(rows);
    rows.forEach((row, i) => expect(scorer.scoreBatch([row])[0]).toBeCloseTo(batch[i], 6));
    expect(scorer.scoreBatch([])).toHaveLength(0);
    scorer.dispose();
  });

  it('reads a missing value as the training mean', () => {
    const scorer = createScorer(linearModel(), metadata, catalog, backend);
    const [missing, typical] = scorer.scoreBatch([Float64Array.of(NaN, 0, 1, 0), Float64Array.of(20, 0, 1, 0)]);
    expect(missing).toBe(typical);
    scorer.dispose();
  });

  it('explains by occlusion: features that raised the score, largest first, with value and typical value', () => {
    const scorer = createScorer(linearModel(), metadata, catalog, backend);
    const [reasons] = scorer.explain([rows[0]]);
    // ratio 7.2 vs typical 1 with weight +2 raises the score most; the terminal rate raises it a little; the
    // amount (120 vs 20, weight −1) lowers it and is not a reason.
    expect(reasons).toEqual([
      { code: 'MODEL_FEATURE', message: 'card.amount_ratio_30d = 7.2 (typical 1)', value: 7.2 },
      { code: 'MODEL_FEATURE', message: 'terminal.fraud_rate_7d = 0.01 (typical 0)', value: 0.01 },
    ]);
    expect(scorer.explain([rows[0]], 1)[0]).toHaveLength(1);
    // A row at the training means has nothing to explain.
    expect(scorer.explain([Float64Array.of(20, 0, 1, 0)])).toEqual([[]]);
    scorer.dispose();
  });

  it('refuses a catalog that lacks a model feature', () => {
    expect(() => createScorer(linearModel(), metadata, ['card.amount'], backend)).toThrow(/card.amount_ratio_30d, terminal.fraud_rate_7d/);
  });
});

describe('the committed default model', () => {
  it('loads against the current feature catalog and gives probabilities', async () => {
    // Fails when the catalog drops or renames a feature the model uses: retrain models/default (see models/README.md).
    const scorer = await loadModel(join(__dirname, '../../../models/default'), { catalog: FEATURE_NAMES });
    const scores = scorer.scoreBatch([new Float64Array(FEATURE_NAMES.length), Float64Array.from(FEATURE_NAMES, () => 5)]);
    expect(scores).toHaveLength(2);
    for (const score of scores) expect(score >= 0 && score <= 1).toBe(true);
    scorer.dispose();
  });
});
