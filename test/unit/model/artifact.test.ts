import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initialiseBackend } from '../../../src/model/backend';
import { loadModelArtifact, METADATA_FILE, ModelArtifactError, saveModelArtifact, validateMetadata, WEIGHTS_FILE, type ModelMetadata } from '../../../src/model/artifact';
import { createScorer, loadModel } from '../../../src/model/scorer';

const catalog = ['card.amount', 'card.count_1h', 'card.amount_ratio_30d', 'terminal.fraud_rate_7d'];
const featureNames = ['card.amount_ratio_30d', 'card.amount', 'terminal.fraud_rate_7d'];

function metadataFor(names = featureNames): Omit<ModelMetadata, 'weightsSha256'> {
  return {
    format: 'card-shield-model/1',
    version: 'test-1',
    createdAt: '2026-11-30T00:00:00.000Z',
    featureNames: names,
    inputTransform: 'symlog-standardise',
    means: names.map(() => 0.5),
    stds: names.map(() => 2),
    trainingPeriod: { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z', labelsKnownAt: '2026-02-08T00:00:00.000Z' },
    dataSummary: { sources: ['test'], transactions: 10, fraudTransactions: 1, cards: 3, fitRows: 8, validationRows: 2, negativeSampleRate: 1, skippedRecords: 0 },
    thresholds: { review: 0.5, block: 0.85, rule: 'fixed' },
    training: { seed: 1, hiddenUnits: [4], epochs: 1, bestEpoch: 1, batchSize: 8, learningRate: 0.01, backend: 'test' },
    evaluation: {},
  };
}

function network(width: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 4, activation: 'tanh', inputShape: [width], kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }), biasInitializer: tf.initializers.constant({ value: 0.1 }) }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 8 }) }));
  return model;
}

// Vectors in catalog order; the model reads three of the four, by name.
const vectors = [
  Float64Array.of(120, 3, 7.2, 0.01),
  Float64Array.of(15, 0, 0.9, 0),
  Float64Array.of(9000, 12, 40, 0.3),
  Float64Array.of(NaN, 1, 1, 0),
];

let dir: string;
beforeAll(async () => {
  await initialiseBackend();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'card-shield-model-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model artifact', () => {
  it('round-trips: the loaded model gives bit-identical predictions', async () => {
    const model = network(featureNames.length);
    const saved = await saveModelArtifact(dir, model, metadataFor());
    const before = createScorer(model, saved, catalog, { name: 'cpu', simd: false, detail: '' }).scoreBatch(vectors);
    const scorer = await loadModel(dir, { catalog });
    const after = scorer.scoreBatch(vectors);
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(new Set(after).size).toBe(vectors.length);
    expect(scorer.metadata).toEqual(saved);
    scorer.dispose();
    model.dispose();
  });

  it('writes the tfjs-node file layout', async () => {
    const model = network(featureNames.length);
    await saveModelArtifact(dir, model, metadataFor());
    const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(modelJson.weightsManifest).toEqual([{ paths: ['./weights.bin'], weights: expect.any(Array) }]);
    expect(modelJson.modelTopology.class_name).toBe('Sequential');
    // 3×4 + 4 + 4×1 + 1 float32 parameters.
    expect((await readFile(join(dir, WEIGHTS_FILE))).length).toBe(21 * 4);
    model.dispose();
  });

  it('refuses weights that do not belong to the metadata', async () => {
    const model = network(featureNames.length);
    await saveModelArtifact(dir, model, metadataFor());
    const weights = await readFile(join(dir, WEIGHTS_FILE));
    weights[0] ^= 1;
    await writeFile(join(dir, WEIGHTS_FILE), weights);
    await expect(loadModelArtifact(dir, catalog)).rejects.toThrow(/weights do not match metadata.json/);
    model.dispose();
  });

  it('refuses a network whose input width differs from the feature list', async () => {
    const model = network(2);
    await saveModelArtifact(dir, model, metadataFor());
    await expect(loadModelArtifact(dir, catalog)).rejects.toThrow(/input shape \[null,2\] but metadata lists 3 features/);
    model.dispose();
  });

  it('names the missing file', async () => {
    await expect(loadModelArtifact(dir, catalog)).rejects.toThrow(new RegExp(`cannot read .*${METADATA_FILE}`));
  });
});

describe('validateMetadata', () => {
  const valid = { ...metadataFor(), weightsSha256: 'a'.repeat(64) };

  it('accepts valid metadata', () => {
    expect(validateMetadata(valid, catalog)).toBe(valid);
  });

  it('names features the service does not compute', () => {
    const raw = { ...valid, featureNames: ['card.amount', 'card.shoe_size', 'terminal.fraud_rate_7d'] };
    expect(() => validateMetadata(raw, catalog)).toThrow(ModelArtifactError);
    expect(() => validateMetadata(raw, catalog)).toThrow(/features "card.shoe_size" are not computed by this service/);
  });

  it('reports every problem at once', () => {
    const raw = { ...valid, featureNames: ['card.amount', 'card.amount', 'card.count_1h'], means: [0, 0], thresholds: { review: 0.9, block: 0.5, rule: 'x' } };
    const message = (() => {
      try {
        validateMetadata(raw, catalog);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/card.amount are listed more than once/);
    expect(message).toMatch(/3 features but 2 means and 3 stds/);
    expect(message).toMatch(/thresholds.block \(0.5\) is below thresholds.review \(0.9\)/);
  });

  it('points at the field with the wrong shape', () => {
    expect(() => validateMetadata({ ...valid, stds: [1, 0, 1] }, catalog)).toThrow(/\/stds\/1/);
    expect(() => validateMetadata({ ...valid, format: 'other/9' }, catalog)).toThrow(/\/format/);
    expect(() => validateMetadata('nonsense', catalog)).toThrow(ModelArtifactError);
  });
});
