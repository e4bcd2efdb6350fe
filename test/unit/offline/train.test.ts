import * as tf from '@tensorflow/tfjs';
import { initialiseBackend } from '../../../src/model/backend';
import { Random } from '../../../src/sim/random';
import { chooseThresholds, RowMatrix, trainNetwork, type LabelledRows, type NetworkOptions, type TrainingData } from '../../../src/offline/train';

/** Fraud when a noisy mix of the first two features is high; the third is noise. About 5% fraud. */
function syntheticRows(count: number, seed: number): LabelledRows {
  const random = new Random(seed, 'synthetic');
  const rows: LabelledRows = { matrix: new RowMatrix(3), isFraud: [], day: [], card: [] };
  for (let i = 0; i < count; i++) {
    const ratio = random.logNormal(1, 0.8);
    const velocity = random.poisson(2);
    const noise = random.normal();
    const fraud = Math.log(ratio) + 0.4 * velocity + 0.5 * random.normal() > 2.2 ? 1 : 0;
    rows.matrix.push([ratio, velocity, noise], [0, 1, 2]);
    rows.isFraud.push(fraud);
    rows.day.push(Math.floor(i / 200));
    rows.card.push(`card-${i % 150}`);
  }
  return rows;
}

const data: TrainingData = {
  featureNames: ['card.amount_ratio_30d', 'card.count_1h', 'noise'],
  fit: syntheticRows(3000, 1),
  validation: syntheticRows(1000, 2),
  summary: { transactions: 4000, fraudTransactions: 0, cards: 150, skippedDuplicateOrLate: 0 },
};
const options: NetworkOptions = { seed: 7, hiddenUnits: [8], epochs: 3, batchSize: 64, learningRate: 0.01, genuinePerFraud: 4, fraudWeight: 1, bags: 1 };

beforeAll(async () => {
  await initialiseBackend();
});

async function weightsOf(model: tf.LayersModel): Promise<number[][]> {
  return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

describe('trainNetwork', () => {
  it('is reproducible: same data and seed, same weights', async () => {
    const first = await trainNetwork(data, options);
    const second = await trainNetwork(data, options);
    expect(await weightsOf(second.model)).toEqual(await weightsOf(first.model));
    expect(second.history.map((h) => h.loss)).toEqual(first.history.map((h) => h.loss));
    const third = await trainNetwork(data, { ...options, seed: 8 });
    expect(await weightsOf(third.model)).not.toEqual(await weightsOf(first.model));
    [first, second, third].forEach((t) => t.model.dispose());
  });

  it('learns the signal, reports each epoch and re-calibrates after down-sampling', async () => {
    const epochs: number[] = [];
    const trained = await trainNetwork(data, options, (report) => epochs.push(report.epoch));
    expect(epochs).toEqual([1, 2, 3]);
    expect(trained.negativeSampleRate).toBeLessThan(1);
    expect(trained.validation.auc).toBeGreaterThan(0.9);
    // Trained on ~1 fraud in 5 but scored on ~1 in 20: without the correction the mean score would be ~4× the rate.
    expect(trained.validation.meanScore).toBeGreaterThan(trained.validation.fraudRate * 0.5);
    expect(trained.validation.meanScore).toBeLessThan(trained.validation.fraudRate * 2);
    trained.model.dispose();
  });

  it('re-calibrates after class weights too: every genuine row kept, fraud rows weighted 10×', async () => {
    const trained = await trainNetwork(data, { ...options, genuinePerFraud: 1e9, fraudWeight: 10 });
    expect(trained.negativeSampleRate).toBe(1);
    expect(trained.validation.auc).toBeGreaterThan(0.9);
    // Uncorrected, the weighted loss would put the mean score near 10× the rate.
    expect(trained.validation.meanScore).toBeGreaterThan(trained.validation.fraudRate * 0.5);
    expect(trained.validation.meanScore).toBeLessThan(trained.validation.fraudRate * 2);
    trained.model.dispose();
  });

  it('bags networks on their own down-samples into one calibrated model that survives a save and a load', async () => {
    const single = await trainNetwork(data, options);
    const bagged = await trainNetwork(data, { ...options, bags: 3 });
    const bags = new Set<number>();
    await trainNetwork(data, { ...options, bags: 2 }, (report) => bags.add(report.bag)).then((t) => t.model.dispose());
    expect([...bags]).toEqual([0, 1]);
    expect(bagged.history).toHaveLength(3 * options.epochs);
    expect(Array.from(bagged.validationScores)).not.toEqual(Array.from(single.validationScores));
    expect(bagged.validation.auc).toBeGreaterThan(0.9);
    expect(bagged.validation.meanScore).toBeGreaterThan(bagged.validation.fraudRate * 0.5);
    expect(bagged.validation.meanScore).toBeLessThan(bagged.validation.fraudRate * 2);
    // Serving loads the topology and weights as the artifact stores them: one model, one predict.
    let saved: tf.io.ModelArtifacts | undefined;
    await bagged.model.save(tf.io.withSaveHandler(async (artifacts) => ((saved = artifacts), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const probe = tf.tensor2d([0.5, -1, 0.2, 2, 1.5, -0.3], [2, 3]);
    const [before, after] = [bagged.model, loaded].map((m) => Array.from((m.predict(probe) as tf.Tensor).dataSync()));
    expect(after).toEqual(before);
    [single.model, bagged.model, loaded].forEach((m) => m.dispose());
    probe.dispose();
  });

  it('frees every tensor of its training once the model is disposed, bagged or not', async () => {
    for (const bags of [1, 3]) {
      const before = tf.memory().numTensors;
      const trained = await trainNetwork(data, { ...options, bags });
      trained.model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('refuses a training period without known fraud', async () => {
    const noFraud = { ...data, fit: { ...data.fit, isFraud: data.fit.isFraud.map(() => 0) } };
    await expect(trainNetwork(noFraud, options)).rejects.toThrow(/no known fraud/);
  });
});

describe('chooseThresholds', () => {
  it('reviews at the best F1 and blocks where alerts are precise enough', () => {
    // Scores from high to low: fraud, fraud, genuine, fraud, genuine, genuine. By hand, per threshold:
    // .9 P1 R⅓ F1 .5 | .8 P1 R⅔ F1 .8 | .7 P⅔ R⅔ F1 .667 | .6 P¾ R1 F1 .857 | .5 P.6 R1 | .4 P.5 R1.
    // Best F1 at .6; precision stays ≥ .9 down to .8.
    const chosen = chooseThresholds([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0]);
    expect(chosen.review).toBe(0.6);
    expect(chosen.block).toBe(0.8);
  });

  it('never blocks on the model alone when no score is precise enough', () => {
    expect(chooseThresholds([0.9, 0.8, 0.7], [0, 1, 0]).block).toBe(1);
  });
});
