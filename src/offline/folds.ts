/**
 * The prequential protocol (Le Borgne et al., Reproducible Machine Learning for Credit Card Fraud Detection, §5.2):
 * N consecutive test weeks; for each, a model trained on the weeks before it, with the fraud labels known at the
 * test week's start, and a gap of the label delay between the training period's end and the test week (the
 * transactions of that gap have no labels yet when the model is trained). One test week says little: N of them give
 * a mean and a spread. The replay runs once; every fold trains and scores on the rows it kept.
 */
import type { CardTransaction } from '../contract';
import type { ModelScorer } from '../model/scorer';
import { fitGradientBoosting, fitLogisticRegression, type Baseline, type BoostingOptions } from './baselines';
import { CombinationData, DEFAULT_COMBINATION_FIT, fitCombination, shippedCombination } from './combination';
import type { ReplayRow } from './dataset';
import { Evaluation, SYSTEMS, type BaselineScorer, type EvaluationReport, type EvaluationSetup, type SystemName } from './evaluate';
import { chooseThresholds, collectTrainingData, DAY_MS, describeEpochs, trainNetwork, type ChosenThresholds, type NetworkOptions, type TrainedNetwork, type TrainingData } from './train';
import type { RuleHit } from '../rules/compile';

export interface FoldProtocol {
  folds: number;
  /** Start of the first test week, epoch ms. */
  firstTestFrom: number;
  testDays: number;
  /** Length of each training period (its last `validationDays` are the network's validation set). */
  trainDays: number;
  /** Between a training period's end and its test week: the label delay (default 7 days). */
  gapDays: number;
  validationDays: number;
}

export interface FoldPlan {
  fold: number;
  trainFrom: number;
  trainTo: number;
  validationFrom: number;
  /** Only fraud labels reported before this count in training: the test week's start. */
  labelsKnownAt: number;
  testFrom: number;
  testTo: number;
}

/** The folds, oldest first; each training period slides with its test week. */
export function planFolds(p: FoldProtocol): FoldPlan[] {
  if (!(Number.isInteger(p.folds) && p.folds >= 1)) throw new RangeError(`folds must be a positive whole number, got ${p.folds}`);
  if (!(p.validationDays > 0 && p.validationDays < p.trainDays)) throw new RangeError('the validation days must be fewer than the training days');
  if (!(p.gapDays >= 0 && p.testDays > 0)) throw new RangeError('the gap must be >= 0 days and the test week > 0 days');
  return Array.from({ length: p.folds }, (_, fold) => {
    const testFrom = p.firstTestFrom + fold * p.testDays * DAY_MS;
    const trainTo = testFrom - p.gapDays * DAY_MS;
    return {
      fold: fold + 1,
      trainFrom: trainTo - p.trainDays * DAY_MS,
      trainTo,
      validationFrom: trainTo - p.validationDays * DAY_MS,
      labelsKnownAt: testFrom,
      testFrom,
      testTo: testFrom + p.testDays * DAY_MS,
    };
  });
}

/** The default first test week: the last `folds` test weeks of the input, whole UTC days, ending at its last row. */
export function lastWeeksStart(lastEventMs: number, folds: number, testDays: number): number {
  return Math.floor((lastEventMs + 1) / DAY_MS) * DAY_MS - (folds * testDays - 1) * DAY_MS;
}

export interface MeanAndSpread {
  mean: number | null;
  /** Sample standard deviation over the folds (n − 1); null with fewer than two folds with a figure. */
  std: number | null;
  folds: number;
}

export type FoldSummary = Partial<Record<SystemName, { auc: MeanAndSpread; averagePrecision: MeanAndSpread; cardPrecisionAtK: MeanAndSpread }>>;

export function meanAndSpread(values: ReadonlyArray<number | null | undefined>): MeanAndSpread {
  const known = values.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
  if (known.length === 0) return { mean: null, std: null, folds: 0 };
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  const std = known.length < 2 ? null : Math.sqrt(known.reduce((a, v) => a + (v - mean) ** 2, 0) / (known.length - 1));
  return { mean, std, folds: known.length };
}

/** Mean ± spread of each system's ranking figures over the folds' reports. */
export function summariseFolds(reports: readonly EvaluationReport[]): FoldSummary {
  const summary: FoldSummary = {};
  for (const system of SYSTEMS) {
    const figures = reports.map((r) => r.systems[system]).filter((f) => f !== undefined);
    if (figures.length === 0) continue;
    summary[system] = {
      auc: meanAndSpread(figures.map((f) => f!.auc)),
      averagePrecision: meanAndSpread(figures.map((f) => f!.averagePrecision)),
      cardPrecisionAtK: meanAndSpread(figures.map((f) => f!.cardPrecisionAtK)),
    };
  }
  return summary;
}

const plusMinus = (m: MeanAndSpread) => (m.mean === null ? '      –       ' : `${m.mean.toFixed(3)} ± ${m.std === null ? '  –  ' : m.std.toFixed(3)}`);

export function formatFoldSummary(summary: FoldSummary, folds: number, k: number): string {
  const lines = [`mean ± std over ${folds} test weeks (sample std):`, `system    |      AUC      |      AP       |    CP@${String(k).padEnd(4)}   `];
  for (const [system, f] of Object.entries(summary)) {
    lines.push(`${system.padEnd(9)} | ${plusMinus(f.auc)} | ${plusMinus(f.averagePrecision)} | ${plusMinus(f.cardPrecisionAtK)}`);
  }
  return lines.join('\n');
}

/** The kept rows, replayed again as batches (each a fresh array; the rows themselves are shared). */
export function* batchesOf(rows: readonly ReplayRow[], endMs = Number.POSITIVE_INFINITY, size = 2000): Generator<ReplayRow[]> {
  for (let start = 0; start < rows.length; start += size) {
    const batch = rows.slice(start, start + size).filter((row) => row.transaction.eventTimeMs < endMs);
    if (batch.length > 0) yield batch;
    if (batch.length < size) return;
  }
}

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/** A baseline fitted on model-feature matrices, scoring catalog-order vectors. */
function baselineScorer(baseline: Baseline, indices: readonly number[]): BaselineScorer {
  return (vectors) => {
    const width = indices.length;
    const matrix = new Float64Array(vectors.length * width);
    vectors.forEach((vector, i) => {
      for (let j = 0; j < width; j++) matrix[i * width + j] = vector[indices[j]];
    });
    return baseline.score(matrix, vectors.length);
  };
}

export interface FoldSetup {
  rows: readonly ReplayRow[];
  catalog: readonly string[];
  featureNames: readonly string[];
  network: NetworkOptions;
  boosting?: BoostingOptions;
  /** Turns the fold's trained network into a scorer the way the service loads one (the CLI saves and loads it). */
  serve: (trained: TrainedNetwork, data: TrainingData, thresholds: ChosenThresholds, plan: FoldPlan) => Promise<ModelScorer>;
  rules: (transaction: CardTransaction, features: Float64Array) => RuleHit[];
  rulesVersion: string;
  evaluation: Pick<EvaluationSetup, 'policy' | 'k' | 'truth'>;
  /** Fit the combination with the rules on the validation window (as `train --calibrate`); false: the noisy OR. */
  combine: boolean;
  /** Train and score the baselines too (default true; a run comparing network recipes needs them once). */
  baselines?: boolean;
  log?: (line: string) => void;
}

export interface FoldResult {
  plan: FoldPlan;
  report: EvaluationReport;
  evaluation: Evaluation;
  model: ModelScorer;
  training: { fitRows: number; validationRows: number; knownFrauds: number; bestEpoch: number; seconds: { network: number; logistic: number; gbt: number } };
}

/**
 * One fold: the network, the two baselines (on the network's fit rows, every genuine row kept, the same features and
 * labels) and the combination (on the validation window) are trained on the fold's training period, then the test
 * week is scored by all of them. Only rows before the test week and labels reported before its start are learnt from.
 */
export async function evaluateFold(setup: FoldSetup, plan: FoldPlan): Promise<FoldResult> {
  const log = setup.log ?? (() => undefined);
  const data = await collectTrainingData(asAsync(batchesOf(setup.rows, plan.trainTo)), {
    catalog: setup.catalog,
    featureNames: setup.featureNames,
    from: plan.trainFrom,
    to: plan.trainTo,
    validationFrom: plan.validationFrom,
    labelsKnownAt: plan.labelsKnownAt,
  });
  const timed = async <T>(work: () => T | Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const value = await work();
    return [value, (performance.now() - started) / 1000];
  };
  const [trained, networkSeconds] = await timed(() => trainNetwork(data, setup.network));
  const thresholds = chooseThresholds(trained.validationScores, data.validation.isFraud);
  const model = await setup.serve(trained, data, thresholds, plan);
  trained.model.dispose();
  const { fit } = data;
  const withBaselines = setup.baselines ?? true;
  const [logistic, logisticSeconds] = await timed(() => (withBaselines ? fitLogisticRegression(fit.matrix.values(), fit.matrix.rows, fit.matrix.width, fit.isFraud) : undefined));
  const [gbt, gbtSeconds] = await timed(() => (withBaselines ? fitGradientBoosting(fit.matrix.values(), fit.matrix.rows, fit.matrix.width, fit.isFraud, setup.boosting) : undefined));
  const knownFrauds = fit.isFraud.reduce((a, b) => a + b, 0) + data.validation.isFraud.reduce((a, b) => a + b, 0);
  log(
    `fold ${plan.fold}: fit ${fit.matrix.rows} rows, validation ${data.validation.matrix.rows}, ${knownFrauds} known frauds; network ${networkSeconds.toFixed(1)} s (${describeEpochs(trained, setup.network.epochs)}, ${trained.fitRows} rows${setup.network.bags > 1 ? ' each' : ''})${withBaselines ? `, logistic ${logisticSeconds.toFixed(1)} s, gbt ${gbtSeconds.toFixed(1)} s` : ''}`,
  );

  let combination: EvaluationSetup['combination'];
  if (setup.combine) {
    const window = { from: plan.validationFrom, to: plan.trainTo, labelsKnownAt: plan.labelsKnownAt };
    const combinationData = new CombinationData(window, model, (row) => setup.rules(row.transaction, row.features));
    for (const batch of batchesOf(setup.rows, plan.trainTo)) combinationData.add(batch);
    const fitted = fitCombination(combinationData.rows, { l2: DEFAULT_COMBINATION_FIT.l2 });
    combination = shippedCombination(fitted, window, setup.rulesVersion, {
      excludedKnownCompromised: combinationData.excludedKnownCompromised,
      l2: DEFAULT_COMBINATION_FIT.l2,
      minRuleHits: DEFAULT_COMBINATION_FIT.minRuleHits,
      fittedAt: new Date().toISOString(),
    });
  }

  const indices = setup.featureNames.map((name) => setup.catalog.indexOf(name));
  const evaluation = new Evaluation({
    ...setup.evaluation,
    from: plan.testFrom,
    to: plan.testTo,
    rules: setup.rules,
    model,
    baselines: logistic && gbt ? { logistic: baselineScorer(logistic, indices), gbt: baselineScorer(gbt, indices) } : undefined,
    combination,
  });
  for (const batch of batchesOf(setup.rows, plan.testTo)) evaluation.add(batch);
  return {
    plan,
    report: evaluation.result().report,
    evaluation,
    model,
    training: {
      fitRows: trained.fitRows,
      validationRows: data.validation.matrix.rows,
      knownFrauds,
      bestEpoch: trained.bestEpochs[0],
      seconds: { network: networkSeconds, logistic: logisticSeconds, gbt: gbtSeconds },
    },
  };
}
