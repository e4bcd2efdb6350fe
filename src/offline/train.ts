/**
 * Training: rows from a replay become a fit set (earlier days, genuine rows down-sampled against class imbalance)
 * and a validation set (the last days of the training period, every row kept, so validation figures are honest),
 * then a small MLP learns from standardised features. Everything random is seeded: initialisers, down-sampling and
 * the per-epoch shuffle, so the same data and seed give the same weights on the same backend.
 */
import * as tf from '@tensorflow/tfjs';
import { NonRetriableError } from '../errors';
import { Random } from '../sim/random';
import type { ReplayRow } from './dataset';
import { averagePrecision, cardPrecisionAtK, figuresAtThresholds, precisionRecallCurve, rocAuc, type PrPoint } from './metrics';
import { METADATA_FORMAT, type ModelMetadata } from '../model/artifact';
import { fitStandardisation, InputEncoder, type Standardisation } from '../model/preprocess';

export const DAY_MS = 86_400_000;

/** A row-major float matrix that grows as rows arrive. */
export class RowMatrix {
  private data: Float32Array;
  rows = 0;

  constructor(readonly width: number, initialRows = 1024) {
    this.data = new Float32Array(width * initialRows);
  }

  /** Appends the values at `indices` of `source`. */
  push(source: ArrayLike<number>, indices: ArrayLike<number>): void {
    if ((this.rows + 1) * this.width > this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const offset = this.rows * this.width;
    for (let j = 0; j < this.width; j++) this.data[offset + j] = source[indices[j]];
    this.rows++;
  }

  row(i: number): Float32Array {
    return this.data.subarray(i * this.width, (i + 1) * this.width);
  }

  values(): Float32Array {
    return this.data.subarray(0, this.rows * this.width);
  }
}

export interface LabelledRows {
  /** Raw values of the model's features, one row per transaction. */
  matrix: RowMatrix;
  /** 1 when a fraud label was known at training time. */
  isFraud: number[];
  day: number[];
  card: string[];
}

export interface TrainingData {
  featureNames: string[];
  fit: LabelledRows;
  validation: LabelledRows;
  summary: { transactions: number; fraudTransactions: number; cards: number; skippedDuplicateOrLate: number };
}

export interface CollectOptions {
  /** Catalog order of the vectors in the replay rows. */
  catalog: readonly string[];
  featureNames: readonly string[];
  /** Training period [from, to), epoch ms. */
  from: number;
  to: number;
  /** Rows from here to `to` are the validation set. */
  validationFrom: number;
  /** Only fraud labels reported before this instant count: later ones were unknown when the model was trained. */
  labelsKnownAt: number;
}

/** Gathers the training period's rows from a replay; rows outside the period only warm the state up. */
export async function collectTrainingData(batches: AsyncIterable<ReplayRow[]>, options: CollectOptions): Promise<TrainingData> {
  const indices = options.featureNames.map((name) => {
    const index = options.catalog.indexOf(name);
    if (index < 0) throw new RangeError(`feature "${name}" is not in the catalog`);
    return index;
  });
  const width = indices.length;
  const empty = (): LabelledRows => ({ matrix: new RowMatrix(width), isFraud: [], day: [], card: [] });
  const fit = empty();
  const validation = empty();
  const cards = new Set<string>();
  const summary = { transactions: 0, fraudTransactions: 0, cards: 0, skippedDuplicateOrLate: 0 };
  for await (const batch of batches) {
    for (const row of batch) {
      const time = row.transaction.eventTimeMs;
      if (time < options.from || time >= options.to) continue;
      if (row.duplicate || row.tooOld) {
        summary.skippedDuplicateOrLate++;
        continue;
      }
      const fraud = row.fraudLabel !== undefined && row.fraudLabel.reportedAtMs < options.labelsKnownAt ? 1 : 0;
      const target = time >= options.validationFrom ? validation : fit;
      target.matrix.push(row.features, indices);
      target.isFraud.push(fraud);
      target.day.push(Math.floor(time / DAY_MS));
      target.card.push(row.transaction.cardToken);
      cards.add(row.transaction.cardToken);
      summary.transactions++;
      summary.fraudTransactions += fraud;
    }
  }
  summary.cards = cards.size;
  return { featureNames: [...options.featureNames], fit, validation, summary };
}

export interface NetworkOptions {
  seed: number;
  hiddenUnits: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Genuine fit rows kept per fraud fit row (down-sampling); the output is re-calibrated afterwards. */
  genuinePerFraud: number;
  /**
   * Loss weight of a fraud row against a genuine one (class weights: the other way to face the imbalance, without
   * throwing genuine rows away); the output is re-calibrated for it as for the down-sampling.
   */
  fraudWeight: number;
  /** Networks averaged into the served model, each on its own genuine down-sample and seed (bagging). */
  bags: number;
}

export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = {
  seed: 1,
  hiddenUnits: [32, 16],
  epochs: 12,
  batchSize: 256,
  learningRate: 0.002,
  genuinePerFraud: 20,
  fraudWeight: 1,
  bags: 5,
};

export interface EpochReport {
  epoch: number;
  loss: number;
  validationAp: number;
  validationAuc: number;
  seconds: number;
}

export interface ValidationFigures {
  rows: number;
  frauds: number;
  auc: number;
  averagePrecision: number;
  cardPrecisionAt100: number;
  /** Mean score against the observed fraud rate: are the re-calibrated scores probabilities? */
  meanScore: number;
  fraudRate: number;
}

export interface TrainedNetwork {
  model: tf.LayersModel;
  standardisation: Standardisation;
  history: EpochReport[];
  /** Each bag's epoch with the best validation AP, the one kept. */
  bestEpochs: number[];
  /** Share of genuine fit rows kept. */
  negativeSampleRate: number;
  fitRows: number;
  validationScores: Float32Array;
  validation: ValidationFigures;
}

function buildNetwork(width: number, options: NetworkOptions, initialFraudRate: number): tf.LayersModel {
  const model = tf.sequential();
  options.hiddenUnits.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        ...(i === 0 ? { inputShape: [width] } : {}),
        kernelInitializer: tf.initializers.heNormal({ seed: options.seed * 1009 + i }),
      }),
    );
  });
  // Starting the output at the base rate spares the first epoch from learning it (Karpathy's "init well").
  const rate = Math.min(Math.max(initialFraudRate, 1e-4), 1 - 1e-4);
  model.add(
    tf.layers.dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed * 1009 + 997 }),
      biasInitializer: tf.initializers.constant({ value: Math.log(rate / (1 - rate)) }),
    }),
  );
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss: 'binaryCrossentropy' });
  return model;
}

/**
 * Scores many rows in chunks of separate tensors: predict's own batching slices one huge tensor and was measured
 * 40× slower (12 s against 0.25 s for 256k rows on wasm).
 */
function predictAll(model: tf.LayersModel, inputs: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows);
  const chunk = 2048;
  for (let start = 0; start < rows; start += chunk) {
    const count = Math.min(chunk, rows - start);
    const slice = inputs.subarray(start * width, (start + count) * width);
    out.set(tf.tidy(() => (model.predict(tf.tensor2d(slice, [count, width]), { batchSize: count }) as tf.Tensor).dataSync() as Float32Array), start);
  }
  return out;
}

/**
 * Trains the network: `bags` networks, each on every fraud fit row and its own down-sample of the genuine ones (and
 * its own seed), averaged into one model, so serving stays one predict. For each, the validation AP after each epoch
 * picks the epoch whose weights are kept; then its output bias is shifted by log(negativeSampleRate / fraudWeight):
 * down-sampling genuine rows by r and weighting fraud rows by w both multiply the odds the network learns by w / r, so
 * the shift makes scores fraud probabilities again (and their average too).
 */
export async function trainNetwork(data: TrainingData, options: NetworkOptions, onEpoch?: (report: EpochReport & { bag: number }) => void): Promise<TrainedNetwork> {
  const width = data.featureNames.length;
  const { fit, validation } = data;
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < fit.matrix.rows; i++) (fit.isFraud[i] ? positives : negatives).push(i);
  if (positives.length === 0) throw new NonRetriableError('the training period holds no known fraud: widen it or check the labels');
  const negativeSampleRate = Math.min(1, (options.genuinePerFraud * positives.length) / Math.max(1, negatives.length));

  // Normalisation comes from every fit row, not the down-sample: serving sees the real mix.
  const standardisation = fitStandardisation(fit.matrix.values(), fit.matrix.rows, width);
  const encoder = new InputEncoder(Array.from({ length: width }, (_, j) => j), standardisation);
  const encodedValidation = new Float32Array(validation.matrix.rows * width);
  for (let i = 0; i < validation.matrix.rows; i++) encoder.encodeInto(validation.matrix.row(i), encodedValidation, i * width);

  const bags: Array<{ model: tf.LayersModel; history: EpochReport[]; bestEpoch: number; fitRows: number }> = [];
  for (let bag = 0; bag < options.bags; bag++) {
    // Bag 0 keeps the single network's seeds, so `bags: 1` trains exactly the recipe shipped before bagging.
    const seed = options.seed + bag * 7919;
    const sampling = new Random(seed, 'negative-sampling');
    const kept = [...positives, ...negatives.filter(() => sampling.chance(negativeSampleRate))].sort((a, b) => a - b);
    const encodedFit = new Float32Array(kept.length * width);
    kept.forEach((row, i) => encoder.encodeInto(fit.matrix.row(row), encodedFit, i * width));
    const keptLabels = Float32Array.from(kept, (row) => fit.isFraud[row]);
    const calibration = Math.log(negativeSampleRate / options.fraudWeight);
    const trained = await fitOneNetwork({ ...options, seed }, encodedFit, keptLabels, positives.length, encodedValidation, validation.isFraud, calibration, (report) =>
      onEpoch?.({ ...report, bag }),
    );
    bags.push({ ...trained, fitRows: kept.length });
  }
  const model = bags.length === 1 ? bags[0].model : averageOf(bags.map((b) => b.model), width);

  const validationScores = predictAll(model, encodedValidation, validation.matrix.rows, width);
  const frauds = validation.isFraud.reduce((a, b) => a + b, 0);
  return {
    model,
    standardisation,
    history: bags.flatMap((b) => b.history),
    bestEpochs: bags.map((b) => b.bestEpoch),
    negativeSampleRate,
    fitRows: bags[0].fitRows,
    validationScores,
    validation: {
      rows: validation.matrix.rows,
      frauds,
      auc: rocAuc(validationScores, validation.isFraud),
      averagePrecision: averagePrecision(validationScores, validation.isFraud),
      cardPrecisionAt100: cardPrecisionAtK({ day: validation.day, card: validation.card, score: validationScores, isFraud: validation.isFraud }, 100).mean,
      meanScore: validationScores.reduce((a, b) => a + b, 0) / Math.max(1, validationScores.length),
      fraudRate: frauds / Math.max(1, validation.matrix.rows),
    },
  };
}

/**
 * One network on encoded fit rows: the epoch with the best validation AP is kept, with `outputBiasShift` added to its
 * output bias (the calibration), and the optimizer's state is freed (a served model does not train).
 */
async function fitOneNetwork(
  options: NetworkOptions,
  encodedFit: Float32Array,
  labels: Float32Array,
  frauds: number,
  encodedValidation: Float32Array,
  validationIsFraud: number[],
  outputBiasShift: number,
  onEpoch: (report: EpochReport) => void,
): Promise<{ model: tf.LayersModel; history: EpochReport[]; bestEpoch: number }> {
  const rows = labels.length;
  const width = encodedFit.length / Math.max(1, rows);
  // The first output is the base rate the weighted loss sees: the weights count as that many copies of a fraud row.
  const weightedFrauds = frauds * options.fraudWeight;
  const model = buildNetwork(width, options, weightedFrauds / (weightedFrauds + rows - frauds));
  const shuffling = new Random(options.seed, 'epoch-shuffle');
  const order = Uint32Array.from({ length: rows }, (_, i) => i);
  const history: EpochReport[] = [];
  let best: { epoch: number; ap: number; weights: tf.Tensor[] } | undefined;
  const epochInputs = new Float32Array(encodedFit.length);
  const epochLabels = new Float32Array(rows);
  const validationRows = validationIsFraud.length;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const started = performance.now();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(shuffling.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let i = 0; i < order.length; i++) {
      epochInputs.set(encodedFit.subarray(order[i] * width, (order[i] + 1) * width), i * width);
      epochLabels[i] = labels[order[i]];
    }
    const x = tf.tensor2d(epochInputs, [rows, width]);
    const y = tf.tensor2d(epochLabels, [rows, 1]);
    let loss: number;
    try {
      const classWeight = options.fraudWeight === 1 ? undefined : { 0: 1, 1: options.fraudWeight };
      const result = await model.fit(x, y, { epochs: 1, batchSize: options.batchSize, shuffle: false, verbose: 0, classWeight });
      loss = Number(result.history.loss[0]);
    } finally {
      x.dispose();
      y.dispose();
    }
    const scores = predictAll(model, encodedValidation, validationRows, width);
    const report: EpochReport = {
      epoch,
      loss,
      validationAp: averagePrecision(scores, validationIsFraud),
      validationAuc: rocAuc(scores, validationIsFraud),
      seconds: (performance.now() - started) / 1000,
    };
    history.push(report);
    onEpoch(report);
    // Without validation frauds there is nothing to choose by: keep the last epoch.
    const ap = Number.isNaN(report.validationAp) ? epoch : report.validationAp;
    if (best === undefined || ap > best.ap) {
      best?.weights.forEach((w) => w.dispose());
      best = { epoch, ap, weights: model.getWeights().map((w) => w.clone()) };
    }
  }
  const weights = best!.weights;
  const last = weights.length - 1;
  const calibratedBias = tf.tidy(() => weights[last].add(outputBiasShift));
  model.setWeights([...weights.slice(0, last), calibratedBias]);
  [...weights, calibratedBias].forEach((w) => w.dispose());
  model.optimizer.dispose();
  return { model, history, bestEpoch: best!.epoch };
}

/** "best epoch 7 of 12", or for a bagged model "5 bags, best epochs 7,12,9,11,8 of 12". */
export function describeEpochs(trained: Pick<TrainedNetwork, 'bestEpochs'>, epochs: number): string {
  const best = trained.bestEpochs;
  return `${best.length > 1 ? `${best.length} bags, best epochs ${best.join(',')}` : `best epoch ${best[0]}`} of ${epochs}`;
}

/**
 * One model whose output is the mean of the networks' probabilities. Their layers are shared, not copied, and the
 * networks themselves released: the layers' weights then live as long as the averaged model, and its dispose frees them.
 */
function averageOf(networks: tf.LayersModel[], width: number): tf.LayersModel {
  const input = tf.input({ shape: [width] });
  const outputs = networks.map((network) => network.layers.reduce<tf.SymbolicTensor>((h, layer) => layer.apply(h) as tf.SymbolicTensor, input));
  const averaged = tf.model({ inputs: input, outputs: tf.layers.average().apply(outputs) as tf.SymbolicTensor });
  networks.forEach((network) => network.dispose());
  return averaged;
}

export interface ChosenThresholds {
  review: number;
  block: number;
  rule: string;
}

/**
 * Thresholds suggested from the validation set: review where F1 peaks, block at the lowest score whose alerts are
 * at least `blockPrecision` fraud (so blocking rarely hits a genuine customer). Both default to the configured
 * service thresholds when the validation set has no fraud.
 */
export function chooseThresholds(scores: ArrayLike<number>, isFraud: ArrayLike<number>, blockPrecision = 0.9): ChosenThresholds {
  const curve = precisionRecallCurve(scores, isFraud);
  if (curve.length === 0) return { review: 0.5, block: 0.85, rule: 'no validation fraud: service defaults' };
  let review = curve[0];
  let bestF1 = -1;
  for (const point of curve) {
    const f1 = point.precision + point.recall === 0 ? 0 : (2 * point.precision * point.recall) / (point.precision + point.recall);
    if (f1 > bestF1) {
      bestF1 = f1;
      review = point;
    }
  }
  // The curve runs from high thresholds down; the last point still precise enough is the lowest such threshold.
  let block: PrPoint | undefined;
  for (const point of curve) if (point.precision >= blockPrecision) block = point;
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  const [atReview] = figuresAtThresholds(scores, isFraud, [review.threshold]);
  const reviewRule = `validation set: review at max F1 (precision ${atReview.precision?.toFixed(3)}, recall ${atReview.recall?.toFixed(3)})`;
  if (block === undefined) {
    return { review: round(review.threshold), block: 1, rule: `${reviewRule}; no score reached precision ${blockPrecision}, so the model alone never blocks (block 1)` };
  }
  const blockThreshold = Math.max(block.threshold, review.threshold);
  const [atBlock] = figuresAtThresholds(scores, isFraud, [blockThreshold]);
  return {
    review: round(review.threshold),
    block: round(blockThreshold),
    rule: `${reviewRule}; block at the lowest score with precision >= ${blockPrecision} (precision ${atBlock.precision?.toFixed(3)}, recall ${atBlock.recall?.toFixed(3)})`,
  };
}

export interface TrainedModelDescription {
  version: string;
  data: TrainingData;
  trained: TrainedNetwork;
  network: NetworkOptions;
  thresholds: ChosenThresholds;
  /** Epoch ms; an infinite `from` means the start of the input. */
  period: { from: number; to: number; labelsKnownAt: number };
  sources: string[];
  skippedRecords: number;
  backend: string;
}

/** The metadata.json of a trained network (its weights' checksum is added when it is saved). */
export function describeTrainedModel(d: TrainedModelDescription): Omit<ModelMetadata, 'weightsSha256'> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    format: METADATA_FORMAT,
    version: d.version,
    createdAt: new Date().toISOString(),
    featureNames: [...d.data.featureNames],
    inputTransform: 'symlog-standardise',
    means: d.trained.standardisation.means.map((v) => Number(v.toPrecision(8))),
    stds: d.trained.standardisation.stds.map((v) => Number(v.toPrecision(8))),
    trainingPeriod: { from: Number.isFinite(d.period.from) ? iso(d.period.from) : 'start of input', to: iso(d.period.to), labelsKnownAt: iso(d.period.labelsKnownAt) },
    dataSummary: {
      sources: d.sources,
      transactions: d.data.summary.transactions,
      fraudTransactions: d.data.summary.fraudTransactions,
      cards: d.data.summary.cards,
      fitRows: d.trained.fitRows,
      validationRows: d.data.validation.matrix.rows,
      negativeSampleRate: Number(d.trained.negativeSampleRate.toPrecision(6)),
      skippedRecords: d.skippedRecords,
    },
    thresholds: d.thresholds,
    training: { ...d.network, bestEpoch: d.trained.bestEpochs[0], ...(d.network.bags > 1 ? { bestEpochs: d.trained.bestEpochs } : {}), backend: d.backend },
    evaluation: { validation: d.trained.validation },
  };
}
