/**
 * Serving cost of the model: µs per transaction for `scoreBatch` at the service's chunk size (feature vectors in,
 * probabilities out: input selection and standardisation, one predict, read back), per backend, plus the cost of
 * explaining one alerting row. Bounded: a few thousand batches per backend.
 *
 *   npm run bench:model -- [--model models/default] [--batch 500] [--rounds 7] [--backends wasm,cpu]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { FEATURE_NAMES } from '../src/state/features';
import { saveModelArtifact } from '../src/model/artifact';
import { initialiseBackend, type BackendName } from '../src/model/backend';
import { loadModel } from '../src/model/scorer';
import { Random } from '../src/sim/random';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/default' },
    batch: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '7' },
    'batches-per-round': { type: 'string', default: '100' },
    backends: { type: 'string', default: 'wasm,cpu' },
  },
});
const batchSize = Number(args.batch);
const rounds = Number(args.rounds);
const batchesPerRound = Number(args['batches-per-round']);

/** A stand-in with the default architecture when no trained model exists yet: the cost does not depend on the weights. */
async function syntheticModel(dir: string): Promise<void> {
  await initialiseBackend({ only: ['cpu'] });
  const width = FEATURE_NAMES.length;
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 32, activation: 'relu', inputShape: [width], kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 2 }) }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  await saveModelArtifact(dir, model, {
    format: 'card-shield-model/1',
    version: 'bench-synthetic',
    createdAt: new Date(0).toISOString(),
    featureNames: [...FEATURE_NAMES],
    inputTransform: 'symlog-standardise',
    means: FEATURE_NAMES.map(() => 0.5),
    stds: FEATURE_NAMES.map(() => 1),
    trainingPeriod: { from: '', to: '', labelsKnownAt: '' },
    dataSummary: { sources: [], transactions: 0, fraudTransactions: 0, cards: 0, fitRows: 0, validationRows: 0, negativeSampleRate: 1, skippedRecords: 0 },
    thresholds: { review: 0.5, block: 0.85, rule: 'synthetic' },
    training: { seed: 1, hiddenUnits: [32, 16], epochs: 1, bestEpoch: 1, batchSize: 1, learningRate: 0.001, backend: 'none' },
    evaluation: {},
  });
  model.dispose();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  let modelDir = args.model!;
  let scratch: string | undefined;
  if (!existsSync(join(modelDir, 'metadata.json'))) {
    scratch = mkdtempSync(join(tmpdir(), 'bench-model-'));
    modelDir = scratch;
    await syntheticModel(modelDir);
    console.log(`no model at ${args.model}: benchmarking an untrained network of the default shape`);
  }
  const random = new Random(42, 'bench-model');
  const vectors = Array.from({ length: batchSize }, () => Float64Array.from(FEATURE_NAMES, () => random.logNormal(3, 1.5)));
  const alerting = vectors.slice(0, 5);
  console.log(`batch ${batchSize}, ${FEATURE_NAMES.length} catalog features, ${rounds} rounds x ${batchesPerRound} batches after warm-up; node ${process.version}, ${process.arch}`);
  console.log('backend                        | model inputs | median µs/txn | min–max µs/txn | txn/s     | explain µs/alerting row');
  for (const only of args.backends!.split(',') as BackendName[]) {
    const scorer = await loadModel(modelDir, { catalog: FEATURE_NAMES, backends: [only] });
    for (let i = 0; i < 50; i++) scorer.scoreBatch(vectors);
    const perTransaction: number[] = [];
    let checksum = 0;
    for (let r = 0; r < rounds; r++) {
      const started = process.hrtime.bigint();
      for (let b = 0; b < batchesPerRound; b++) checksum += scorer.scoreBatch(vectors)[b % batchSize];
      perTransaction.push(Number(process.hrtime.bigint() - started) / 1000 / (batchesPerRound * batchSize));
    }
    for (let i = 0; i < 5; i++) scorer.explain(alerting);
    const explainStarted = process.hrtime.bigint();
    for (let i = 0; i < 20; i++) scorer.explain(alerting);
    const explainPerRow = Number(process.hrtime.bigint() - explainStarted) / 1000 / (20 * alerting.length);
    const mid = median(perTransaction);
    console.log(
      `${scorer.backend.detail.split(';')[0].padEnd(30)} | ${String(scorer.metadata.featureNames.length).padStart(12)} | ${mid.toFixed(2).padStart(13)} | ${`${Math.min(...perTransaction).toFixed(2)}–${Math.max(...perTransaction).toFixed(2)}`.padStart(14)} | ${Math.round(1e6 / mid).toLocaleString('en').padStart(9)} | ${explainPerRow.toFixed(0).padStart(6)}`,
    );
    if (!Number.isFinite(checksum)) throw new Error('non-finite scores');
    scorer.dispose();
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
