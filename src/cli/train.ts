/**
 * `npm run train -- --input traffic.ndjson --labels labels.ndjson --train-from 2026-01-19 --train-to 2026-02-16 --out models/default`
 * `npm run train -- --calibrate models/default --input traffic.ndjson --labels labels.ndjson`
 * `npm run train -- --scores scores.ndjson --labels labels.ndjson --train-to 2026-02-16 --out models/mine`
 *
 * Replays the input through the service's own state code, trains the fraud model on the training period with the
 * labels known by then, and writes the model directory (tfjs files + metadata.json). With --calibrate it trains
 * nothing: it fits how an existing model combines with the rules (src/offline/combination.ts) on the model's
 * validation window and stores the weights in its metadata.json. With --scores it replays nothing: the rows are the
 * feature vectors production logged on the scores topic (SCORES_INCLUDE_FEATURES=true).
 */
import { basename, resolve } from 'node:path';
import { NonRetriableError } from '../errors';
import { readMetadata, recordCombination, saveModelArtifact } from '../model/artifact';
import { CombinationData, DEFAULT_COMBINATION_FIT, fitCombination, formatCombinationFit, shippedCombination } from '../offline/combination';
import { initialiseBackend } from '../model/backend';
import { replay, type ReplayRow } from '../offline/dataset';
import { INPUT_HELP, INPUT_OPTIONS, openInputs, parseInstant } from '../offline/inputs';
import { LoggedFeaturesReport, readLoggedFeatureRows } from '../offline/logged-features';
import { readLabelsNdjson, SourceReport } from '../offline/sources';
import { chooseThresholds, collectTrainingData, DAY_MS, describeEpochs, describeTrainedModel, trainNetwork } from '../offline/train';
import { NETWORK_HELP, NETWORK_OPTIONS, numberOption, parseFeatureNames, parseNetworkOptions } from './network-options';
import { configFields } from '../config/schema';
import { loadModel } from '../model/scorer';
import { createRulesHolder } from '../rules';
import { FEATURE_INDEX, FEATURE_NAMES } from '../state/features';
import { Telemetry } from '../telemetry/events';
import { createLogger } from '../telemetry/logger';
import { createMemoryStore } from '../state/memory-store';
import { parseToolArgs } from './args';

const HELP = `Usage: npm run train -- --input <file> [--labels <file>] --train-to <date> --out models/<name> [options]
       npm run train -- --scores <file> --labels <file> --train-to <date> --out models/<name> [options]
       npm run train -- --calibrate models/<name> --input <file> [--labels <file>] [options]

Training period
  --train-from <date>       first day trained on (default: the start of the input). Leave the days before it as
                            warm-up: 30-day features need 30 days of history
  --train-to <date>         end of the training period (exclusive), e.g. 2026-02-23
  --labels-known-at <date>  only labels reported before this count (default: train-to + 7 days, the label gap)
  --validation-days <n>     the last n days of the period are the validation set (default 7)

Model
  --out <dir>               model directory to write (e.g. models/default)
  --version <text>          model version shown in alerts (default: <dir name>-<train-to>-s<seed>)
${NETWORK_HELP}

Combination with the rules (src/decision/policy.ts step 2): run after training, and again after the rules change
  --calibrate <dir>         fit the combination of the model in <dir> with the rules; writes its metadata.json
                            "combination" and trains nothing
  --rules <file>            rule file (default: RULES_FILE or ${configFields.rulesFile.defaultText})
  --fit-from <date>         fit window start (default: the last 7 days of the model's training period, its
  --fit-to <date>           validation window, which the network was not fitted on); labels: those reported
                            before the model's label cut-off (--labels-known-at to override)
  --l2 <x>                  ridge penalty on each rule weight, default ${DEFAULT_COMBINATION_FIT.l2}

${INPUT_HELP}
  --scores <file>           instead of --input: a dump of SCORES_TOPIC written with SCORES_INCLUDE_FEATURES=true
                            (one decision record a line); trains on the feature vectors production scored, no
                            replay. Lines without the model's features are skipped and counted by reason`;

const { values: args } = parseToolArgs('train', {
  options: {
    ...INPUT_OPTIONS,
    scores: { type: 'string' },
    'train-from': { type: 'string' },
    'train-to': { type: 'string' },
    'labels-known-at': { type: 'string' },
    'validation-days': { type: 'string', default: '7' },
    out: { type: 'string' },
    version: { type: 'string' },
    ...NETWORK_OPTIONS,
    calibrate: { type: 'string' },
    rules: { type: 'string' },
    'fit-from': { type: 'string' },
    'fit-to': { type: 'string' },
    l2: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

/** Stops the replay once it has passed the end of the training period: later data is not needed. */
async function* until(batches: AsyncIterable<ReplayRow[]>, endMs: number): AsyncGenerator<ReplayRow[]> {
  for await (const batch of batches) {
    yield batch;
    if (batch[batch.length - 1].transaction.eventTimeMs >= endMs) return;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const fixed = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

async function main(): Promise<void> {
  if (args.help) {
    console.log(HELP);
    return;
  }
  if (args.calibrate !== undefined) return calibrate(args.calibrate);
  const trainTo = parseInstant('train-to', args['train-to']);
  if (trainTo === undefined) throw new NonRetriableError('--train-to is required (the end of the training period, e.g. 2026-02-23)');
  if (args.out === undefined) throw new NonRetriableError('--out is required (the model directory, e.g. models/default)');
  const trainFrom = parseInstant('train-from', args['train-from']) ?? Number.NEGATIVE_INFINITY;
  const labelsKnownAt = parseInstant('labels-known-at', args['labels-known-at']) ?? trainTo + 7 * DAY_MS;
  const validationDays = numberOption('validation-days', args['validation-days'], 7);
  const validationFrom = trainTo - validationDays * DAY_MS;
  if (validationFrom <= trainFrom) throw new NonRetriableError('--validation-days leaves no days to fit on: widen the training period');
  const network = parseNetworkOptions(args);
  const featureNames = parseFeatureNames(args);

  const backend = await initialiseBackend();
  console.log(`backend: ${backend.detail}`);
  console.log(
    `training period ${Number.isFinite(trainFrom) ? iso(trainFrom) : 'start of input'} .. ${iso(trainTo)}, validation from ${iso(validationFrom)}, labels known before ${iso(labelsKnownAt)}`,
  );
  const started = performance.now();
  const inputs = await trainingRows(trainTo, featureNames);
  const data = await collectTrainingData(inputs.rows, { catalog: FEATURE_NAMES, featureNames, from: trainFrom, to: trainTo, validationFrom, labelsKnownAt });
  const skippedRecords = inputs.transactionReport.skipped + inputs.labelReport.skipped;
  console.log(
    `${inputs.how} in ${((performance.now() - started) / 1000).toFixed(1)} s: ${data.summary.transactions} transactions in the period (${data.summary.fraudTransactions} with a known fraud label) on ${data.summary.cards} cards; fit ${data.fit.matrix.rows}, validation ${data.validation.matrix.rows}; ${skippedRecords} input records skipped${inputs.skippedByReason?.() ?? ''}`,
  );
  for (const problem of [...inputs.transactionReport.problems, ...inputs.labelReport.problems].slice(0, 5)) console.log(`  skipped ${problem}`);

  console.log('epoch |   loss   | val AP | val AUC |  time');
  const trained = await trainNetwork(data, network, (e) =>
    console.log(`${String(e.epoch).padStart(5)} | ${fixed(e.loss, 5).padStart(8)} | ${fixed(e.validationAp).padStart(6)} | ${fixed(e.validationAuc).padStart(7)} | ${e.seconds.toFixed(1).padStart(4)} s`),
  );
  const thresholds = chooseThresholds(trained.validationScores, data.validation.isFraud);
  const version = args.version ?? `${basename(args.out)}-${iso(trainTo).slice(0, 10)}-s${network.seed}`;
  const metadata = await saveModelArtifact(
    args.out,
    trained.model,
    describeTrainedModel({
      version,
      data,
      trained,
      network,
      thresholds,
      period: { from: trainFrom, to: trainTo, labelsKnownAt },
      sources: inputs.sources.map((s) => basename(s)),
      skippedRecords,
      backend: backend.name,
    }),
  );
  const v = trained.validation;
  console.log(`
model ${metadata.version} → ${args.out}
  inputs ${featureNames.length}, hidden ${network.hiddenUnits.join('×')}, ${describeEpochs(trained, network.epochs)}, genuine rows kept ${(trained.negativeSampleRate * 100).toFixed(2)}%
  validation (${v.rows} rows, ${v.frauds} known fraud):  AUC ${fixed(v.auc)}  AP ${fixed(v.averagePrecision)}  CP@100 ${fixed(v.cardPrecisionAt100)}
  calibration: mean score ${fixed(v.meanScore, 5)} vs fraud rate ${fixed(v.fraudRate, 5)}
  suggested thresholds: review ${thresholds.review}, block ${thresholds.block} (${thresholds.rule})`);
  trained.model.dispose();
}

/** The training rows: replayed from transactions (--input), or the feature vectors production logged (--scores). */
async function trainingRows(trainTo: number, featureNames: readonly string[]) {
  if (args.scores === undefined) {
    const inputs = await openInputs(args);
    const rows = until(replay(inputs.records(), { store: createMemoryStore(), labels: inputs.labels }), trainTo);
    return { ...inputs, rows, how: 'replayed', skippedByReason: undefined };
  }
  if (args.input !== undefined) throw new NonRetriableError('--scores and --input are two sources of rows: give one');
  const labelReport = new SourceReport();
  const labels = args.labels === undefined ? [] : await readLabelsNdjson(args.labels, { report: labelReport });
  const transactionReport = new LoggedFeaturesReport();
  const rows = readLoggedFeatureRows(args.scores, { catalog: FEATURE_NAMES, required: featureNames, labels, report: transactionReport });
  const skippedByReason = () => (transactionReport.byReason.size === 0 ? '' : ` (scores: ${[...transactionReport.byReason].map(([reason, count]) => `${count} ${reason}`).join(', ')})`);
  return { rows, transactionReport, labelReport, sources: [args.scores, ...(args.labels ? [args.labels] : [])], how: 'read the logged features', skippedByReason };
}

/**
 * Fits the combination of the model in `dir` with the rules on a window the network was not fitted on, with the
 * labels known at the model's cut-off, and stores it in the model's metadata. The replay stops at the window's end:
 * no later row, and no label reported at or after the cut-off, reaches the fit.
 */
async function calibrate(dir: string): Promise<void> {
  const metadata = await readMetadata(dir, FEATURE_NAMES);
  const trainedTo = Date.parse(metadata.trainingPeriod.to);
  const fitTo = parseInstant('fit-to', args['fit-to']) ?? trainedTo;
  const fitFrom = parseInstant('fit-from', args['fit-from']) ?? trainedTo - 7 * DAY_MS;
  const labelsKnownAt = parseInstant('labels-known-at', args['labels-known-at']) ?? Date.parse(metadata.trainingPeriod.labelsKnownAt);
  if (!(fitFrom < fitTo)) throw new NonRetriableError('--fit-from must precede --fit-to');
  if (!(labelsKnownAt >= fitTo)) throw new NonRetriableError('the label cut-off must not precede the end of the fit window');
  const l2 = numberOption('l2', args.l2, DEFAULT_COMBINATION_FIT.l2, (v) => v >= 0);
  const rulesFile = resolve(args.rules ?? process.env.RULES_FILE ?? configFields.rulesFile.defaultText);
  const rules = await createRulesHolder({ file: rulesFile, featureIndex: FEATURE_INDEX, telemetry: new Telemetry(), logger: createLogger({ level: 'warn' }), watch: false });
  const ruleSet = rules.current();
  const model = await loadModel(dir, { catalog: FEATURE_NAMES });
  const inputs = await openInputs(args);
  console.log(`model ${model.version} on ${model.backend.detail}; rules ${ruleSet.version} (${rulesFile})`);
  console.log(`fit window ${iso(fitFrom)} .. ${iso(fitTo)}, labels known before ${iso(labelsKnownAt)}`);
  const window = { from: fitFrom, to: fitTo, labelsKnownAt };
  const data = new CombinationData(window, model, (row) => ruleSet.evaluate(row.transaction, row.features));
  const started = performance.now();
  for await (const batch of until(replay(inputs.records(), { store: createMemoryStore(), labels: inputs.labels }), fitTo)) data.add(batch);
  rules.close();
  console.log(`replayed in ${((performance.now() - started) / 1000).toFixed(1)} s: ${data.rows.length} rows in the window, ${data.excludedKnownCompromised} rows of cards already known compromised left out`);
  const fit = fitCombination(data.rows, { l2 });
  console.log(formatCombinationFit(fit));
  const shipped = shippedCombination(fit, window, ruleSet.version, {
    excludedKnownCompromised: data.excludedKnownCompromised,
    l2,
    minRuleHits: DEFAULT_COMBINATION_FIT.minRuleHits,
    fittedAt: new Date().toISOString(),
  });
  await recordCombination(dir, FEATURE_NAMES, shipped);
  console.log(`recorded the combination in ${dir}/metadata.json (fitted with rules ${ruleSet.version})`);
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof NonRetriableError ? `train: ${error.message}` : error);
  process.exitCode = 1;
});
