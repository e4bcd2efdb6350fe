/**
 * `npm run evaluate -- --model models/default --input traffic.ndjson --labels labels.ndjson --test-from 2026-02-23`
 * `npm run evaluate -- --folds 4 --input traffic.ndjson --labels labels.ndjson`
 *
 * Scores the test period with the rules alone, the model alone and the combined decision policy (with the model's
 * fitted combination when its metadata has one), after replaying everything before it (state warm, labels as
 * reported), and writes the figures as JSON plus two SVG charts. With --folds it trains a model, the baselines and
 * the combination per test week itself (src/offline/folds.ts) from one replay and prints mean ± std.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { configFields } from '../config/schema';
import { NonRetriableError } from '../errors';
import { readMetadata, recordEvaluation, saveModelArtifact } from '../model/artifact';
import { initialiseBackend } from '../model/backend';
import { DEFAULT_BOOSTING } from '../offline/baselines';
import { evaluateFold, formatFoldSummary, lastWeeksStart, planFolds, summariseFolds, type FoldResult, type FoldSetup, type FoldSummary } from '../offline/folds';
import { describeTrainedModel, type NetworkOptions } from '../offline/train';
import { NETWORK_HELP, NETWORK_OPTIONS, numberOption, parseFeatureNames, parseNetworkOptions } from './network-options';
import { dailySvg, precisionRecallSvg } from '../offline/charts';
import { replay, type ReplayRow } from '../offline/dataset';
import { Evaluation, formatEvaluation, SYSTEMS, type EvaluationReport } from '../offline/evaluate';
import { INPUT_HELP, INPUT_OPTIONS, openInputs, parseInstant } from '../offline/inputs';
import { loadModel } from '../model/scorer';
import { readFraudTruth } from '../offline/sources';
import { combinationDrift, type DecisionPolicy } from '../decision/policy';
import { createRulesHolder, liveRuleIds } from '../rules';
import { FEATURE_INDEX, FEATURE_NAMES } from '../state/features';
import { createMemoryStore } from '../state/memory-store';
import { Telemetry } from '../telemetry/events';
import { createLogger } from '../telemetry/logger';
import { parseToolArgs } from './args';

const HELP = `Usage: npm run evaluate -- --model <dir> --input <file> [--labels <file>] --test-from <date> [options]
       npm run evaluate -- --folds <n> --input <file> [--labels <file>] [--test-from <date>] [options]

Protocol: the model was trained on an earlier period with the labels known before its start; everything before
--test-from is replayed (state warm, labels delivered when reported) but not scored; the test period is scored by
the rules alone, the model alone and the combined policy. Cards known compromised before a day are left out of it.
The combined policy uses the model's fitted combination (metadata.json "combination", from npm run train --
--calibrate), which must have been fitted on rows and labels before --test-from.

  --model <dir>             model directory (model.json, weights.bin, metadata.json)
  --test-from <date>        first test day, e.g. 2026-02-23; must not precede the model's label cut-off
  --test-to <date>          end of the test period, exclusive (default: the end of the input)
  --truth <file>            simulator truth.ndjson: judge against the real frauds, not only reported ones
  --rules <file>            rule file (default: RULES_FILE or ${configFields.rulesFile.defaultText})
  --k <n>                   cards reviewed per day for Card Precision@k (default 100)
  --review-threshold <x>    default: REVIEW_THRESHOLD or ${configFields.reviewThreshold.defaultText}
  --block-threshold <x>     default: BLOCK_THRESHOLD or ${configFields.blockThreshold.defaultText}
  --combination none        score the combined system with the noisy OR instead of the model's fitted combination
  --out-dir <dir>           where evaluation.json, pr-curve.svg and cp-at-k.svg go (default out/evaluate)
  --record                  also store the figures in the model's metadata.json (evaluation.testAgainstTruth or
                            evaluation.testAgainstLabels)
  --scores-out <file>       also write every scored row as NDJSON: fold, transactionId, cardToken, eventTime,
                            fraudLabelReportedAt, labelKnown (reported before the test period's end), truth (with
                            --truth), isFraud (what the figures used), each system's score, action (combined policy)

Prequential folds (no --model: each fold trains its own, with the recipe of npm run train and these options)
  --folds <n>               n consecutive test weeks (default: the input's last n weeks, or from --test-from); for
                            each, a network, a logistic regression and gradient-boosted trees (same fit rows and
                            features; baselines every genuine row) are trained on the --train-days before the gap
                            with the labels reported before the test week, and the combination is fitted on the
                            network's validation days; prints each fold and mean ± std; fold models in <out-dir>
  --train-days <n>          default 21 (the last --validation-days of them are the network's validation set)
  --gap-days <n>            training period end to test week start: the label delay, default 7
  --validation-days <n>     default 7
  --test-days <n>           length of a test period, default 7
  --compare <pairs>         also run the folds with another network recipe, e.g. "fraud-weight=20;hidden=64,32"
                            (the network options below as name=value pairs, ";" between them; repeatable): its model alone is scored
                            and a lever table printed; no baselines or combination for it
  --gbt-rounds <n>          boosting rounds of the trees baseline, default ${DEFAULT_BOOSTING.rounds}
  --gbt-depth <n>           depth of its trees, default ${DEFAULT_BOOSTING.maxDepth}
${NETWORK_HELP}

${INPUT_HELP}`;

const { values: args } = parseToolArgs('evaluate', {
  options: {
    ...INPUT_OPTIONS,
    model: { type: 'string' },
    'test-from': { type: 'string' },
    'test-to': { type: 'string' },
    truth: { type: 'string' },
    rules: { type: 'string' },
    k: { type: 'string', default: '100' },
    'review-threshold': { type: 'string' },
    'block-threshold': { type: 'string' },
    combination: { type: 'string' },
    'out-dir': { type: 'string', default: 'out/evaluate' },
    record: { type: 'boolean', default: false },
    'scores-out': { type: 'string' },
    folds: { type: 'string' },
    'train-days': { type: 'string', default: '21' },
    'gap-days': { type: 'string', default: '7' },
    'validation-days': { type: 'string', default: '7' },
    'test-days': { type: 'string', default: '7' },
    compare: { type: 'string', multiple: true },
    'gbt-rounds': { type: 'string' },
    'gbt-depth': { type: 'string' },
    ...NETWORK_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  },
});

async function* until(batches: AsyncIterable<ReplayRow[]>, endMs: number): AsyncGenerator<ReplayRow[]> {
  for await (const batch of batches) {
    yield batch;
    if (batch[batch.length - 1].transaction.eventTimeMs >= endMs) return;
  }
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(HELP);
    return;
  }
  const k = Number(args.k);
  if (!Number.isInteger(k) || k < 1) throw new NonRetriableError(`--k "${args.k}" must be a positive whole number`);
  const threshold = (option: 'review-threshold' | 'block-threshold', field: typeof configFields.reviewThreshold, env: string | undefined) => {
    const raw = args[option] ?? env;
    try {
      return field.parse(raw);
    } catch (error) {
      throw new NonRetriableError(`--${option}: ${(error as Error).message}`);
    }
  };
  const policy = {
    reviewThreshold: threshold('review-threshold', configFields.reviewThreshold, process.env.REVIEW_THRESHOLD),
    blockThreshold: threshold('block-threshold', configFields.blockThreshold, process.env.BLOCK_THRESHOLD),
  };
  if (args.folds !== undefined) return evaluateFolds(k, policy);
  if (args.model === undefined) throw new NonRetriableError('--model is required (a model directory, e.g. models/default), or --folds <n> to train one per test week');
  const testFrom = parseInstant('test-from', args['test-from']);
  if (testFrom === undefined) throw new NonRetriableError('--test-from is required (the first test day, e.g. 2026-02-23)');
  const testTo = parseInstant('test-to', args['test-to']) ?? Number.POSITIVE_INFINITY;

  const metadata = await readMetadata(args.model, FEATURE_NAMES);
  const labelsCutOff = Date.parse(metadata.trainingPeriod.labelsKnownAt);
  const trainedTo = Date.parse(metadata.trainingPeriod.to);
  if (testFrom < trainedTo || testFrom < labelsCutOff) {
    throw new NonRetriableError(
      `--test-from ${new Date(testFrom).toISOString()} precedes the model's training period end (${metadata.trainingPeriod.to}) or its label cut-off (${metadata.trainingPeriod.labelsKnownAt}): the test would reward what the model already saw`,
    );
  }
  if (args.combination !== undefined && args.combination !== 'none') throw new NonRetriableError(`--combination "${args.combination}": the only value is none`);
  const combination = args.combination === 'none' ? undefined : metadata.combination;
  if (combination !== undefined) {
    // The combination's fit must not have seen the test period either: neither its rows nor its labels.
    const fit = combination.fit as { to?: string; labelsKnownAt?: string };
    const fitTo = Date.parse(fit.to ?? '');
    const fitLabels = Date.parse(fit.labelsKnownAt ?? '');
    if (!(testFrom >= fitTo && testFrom >= fitLabels)) {
      throw new NonRetriableError(
        `--test-from ${new Date(testFrom).toISOString()} precedes the end of the combination's fit window (${fit.to}) or its label cut-off (${fit.labelsKnownAt}): refit it earlier or pass --combination none`,
      );
    }
  }
  const model = await loadModel(args.model, { catalog: FEATURE_NAMES });
  const rulesFile = resolve(args.rules ?? process.env.RULES_FILE ?? configFields.rulesFile.defaultText);
  const rules = await createRulesHolder({ file: rulesFile, featureIndex: FEATURE_INDEX, telemetry: new Telemetry(), logger: createLogger({ level: 'warn' }), watch: false });
  const ruleSet = rules.current();
  const truth = args.truth === undefined ? undefined : await readFraudTruth(args.truth);
  const inputs = await openInputs(args);
  console.log(`model ${model.version} on ${model.backend.detail}; rules ${ruleSet.version} (${rulesFile}); truth: ${args.truth ?? 'fraud labels'}`);
  const drift = combinationDrift(combination, ruleSet.version, liveRuleIds(ruleSet));
  if (drift !== undefined) console.warn(`warning: ${drift}`);

  const evaluation = new Evaluation({ from: testFrom, to: testTo, rules: (txn, features) => ruleSet.evaluate(txn, features), model, policy, combination, k, truth });
  const started = performance.now();
  for await (const batch of until(replay(inputs.records(), { store: createMemoryStore(), labels: inputs.labels }), testTo)) evaluation.add(batch);
  rules.close();
  const { report, curves } = evaluation.result();
  if (report.rows.scored === 0) throw new NonRetriableError('no transaction falls in the test period: check --test-from / --test-to against the input');
  console.log(`replayed and scored in ${((performance.now() - started) / 1000).toFixed(1)} s; ${inputs.transactionReport.skipped + inputs.labelReport.skipped} input records skipped`);
  console.log(formatEvaluation(report));

  const output = { model: { dir: args.model, version: model.version, trainingPeriod: metadata.trainingPeriod }, rules: { file: rulesFile, version: ruleSet.version }, truth: args.truth ?? 'labels', ...report };
  const outDir = args['out-dir']!;
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'evaluation.json'), `${JSON.stringify(output, null, 2)}\n`);
  const systems = SYSTEMS.filter((s) => curves.precisionRecall[s] !== undefined);
  await writeFile(
    join(outDir, 'pr-curve.svg'),
    precisionRecallSvg(
      `Precision–recall, test ${report.testPeriod.from.slice(0, 10)} to ${report.testPeriod.to.slice(0, 10)}`,
      systems.map((s) => ({ name: `${s} (AP ${report.systems[s]?.averagePrecision?.toFixed(3)})`, points: curves.precisionRecall[s]! })),
    ),
  );
  await writeFile(
    join(outDir, 'cp-at-k.svg'),
    dailySvg(
      `Card Precision@${k} per day`,
      `CP@${k}`,
      systems.map((s) => ({ name: `${s} (mean ${report.systems[s]?.cardPrecisionAtK?.toFixed(3)})`, points: curves.cardPrecisionDays[s]!.map((d) => ({ day: d.day, value: d.precision })) })),
    ),
  );
  console.log(`wrote ${join(outDir, 'evaluation.json')}, pr-curve.svg, cp-at-k.svg`);
  if (args['scores-out'] !== undefined) {
    const rows = await writeScores(args['scores-out'], [{ fold: null, evaluation, testTo: Date.parse(report.testPeriod.to) }], truth !== undefined);
    console.log(`wrote ${rows} scored rows to ${args['scores-out']}`);
  }
  if (args.record) {
    const key = args.truth ? 'testAgainstTruth' : 'testAgainstLabels';
    const { perDay: _perDay, ...summary } = report;
    await recordEvaluation(args.model, FEATURE_NAMES, key, { ...summary, rulesVersion: ruleSet.version });
    console.log(`recorded the figures in ${join(args.model, 'metadata.json')} (evaluation.${key})`);
  }
  model.dispose();
}

/**
 * Every scored row as one NDJSON line. No PAN can be in it: the card is its offline token, and the transaction id is
 * the source's own.
 */
async function writeScores(file: string, runs: Array<{ fold: number | null; evaluation: Evaluation; testTo: number }>, withTruth: boolean): Promise<number> {
  const out = createWriteStream(file);
  let count = 0;
  for (const { fold, evaluation, testTo } of runs) {
    for (const row of evaluation.scoredRows()) {
      const line = {
        fold,
        transactionId: row.transactionId,
        cardToken: row.cardToken,
        eventTime: row.eventTime,
        fraudLabelReportedAt: row.fraudLabelReportedAt,
        labelKnown: row.fraudLabelReportedAt !== null && Date.parse(row.fraudLabelReportedAt) < testTo,
        truth: withTruth ? row.isFraud : null,
        isFraud: row.isFraud,
        ...Object.fromEntries(Object.entries(row.scores).map(([system, score]) => [`${system}Score`, Number(score!.toPrecision(6))])),
        action: row.action,
      };
      if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
      count++;
    }
  }
  out.end();
  await once(out, 'finish');
  return count;
}

/** --folds: one replay, then per test week a network, the baselines and the combination trained and scored. */
async function evaluateFolds(k: number, policy: DecisionPolicy): Promise<void> {
  const folds = numberOption('folds', args.folds, 4, (v) => Number.isInteger(v) && v >= 1);
  const days = (name: 'train-days' | 'gap-days' | 'validation-days' | 'test-days', check?: (v: number) => boolean) => numberOption(name, args[name], 7, check);
  const network = parseNetworkOptions(args);
  const featureNames = parseFeatureNames(args);
  const boosting = {
    rounds: numberOption('gbt-rounds', args['gbt-rounds'], DEFAULT_BOOSTING.rounds, (v) => Number.isInteger(v) && v >= 1),
    maxDepth: numberOption('gbt-depth', args['gbt-depth'], DEFAULT_BOOSTING.maxDepth, (v) => Number.isInteger(v) && v >= 1),
  };
  if (args.model !== undefined) throw new NonRetriableError('--folds trains a model per test week: leave out --model');
  const rulesFile = resolve(args.rules ?? process.env.RULES_FILE ?? configFields.rulesFile.defaultText);
  const rules = await createRulesHolder({ file: rulesFile, featureIndex: FEATURE_INDEX, telemetry: new Telemetry(), logger: createLogger({ level: 'warn' }), watch: false });
  const ruleSet = rules.current();
  rules.close();
  const truth = args.truth === undefined ? undefined : await readFraudTruth(args.truth);
  const backend = await initialiseBackend();
  const inputs = await openInputs(args);
  console.log(`backend ${backend.detail}; rules ${ruleSet.version} (${rulesFile}); truth: ${args.truth ?? 'fraud labels'}`);

  const started = performance.now();
  const rows: ReplayRow[] = [];
  for await (const batch of replay(inputs.records(), { store: createMemoryStore(), labels: inputs.labels })) for (const row of batch) rows.push(row);
  if (rows.length === 0) throw new NonRetriableError('the input holds no transaction');
  console.log(`replayed ${rows.length} transactions once in ${((performance.now() - started) / 1000).toFixed(1)} s; ${inputs.transactionReport.skipped + inputs.labelReport.skipped} input records skipped`);
  const testDays = days('test-days');
  const protocol = {
    folds,
    firstTestFrom: parseInstant('test-from', args['test-from']) ?? lastWeeksStart(rows[rows.length - 1].transaction.eventTimeMs, folds, testDays),
    testDays,
    trainDays: days('train-days'),
    gapDays: days('gap-days', (v) => v >= 0),
    validationDays: days('validation-days'),
  };
  const plans = planFolds(protocol);
  if (plans[0].trainFrom < rows[0].transaction.eventTimeMs) {
    console.warn(`warning: fold 1 trains from ${iso(plans[0].trainFrom)}, before the input's first row (${iso(rows[0].transaction.eventTimeMs)}): its state is cold and its period short`);
  }
  const outDir = args['out-dir']!;
  /** A fold run of `recipe`; its fold models go to <out-dir>/fold-<n>/<modelDir>. */
  const foldSetup = (recipe: NetworkOptions, modelDir: string): FoldSetup => ({
        rows,
        catalog: FEATURE_NAMES,
        featureNames,
        network: recipe,
        boosting,
        rules: (transaction, features) => ruleSet.evaluate(transaction, features),
        rulesVersion: ruleSet.version,
        evaluation: { policy, k, truth },
        combine: args.combination !== 'none',
        log: (line) => console.log(line),
        async serve(trained, data, thresholds, p) {
          const dir = join(outDir, `fold-${p.fold}`, modelDir);
          await saveModelArtifact(
            dir,
            trained.model,
            describeTrainedModel({
              version: `fold-${p.fold}-${iso(p.trainTo).slice(0, 10)}-s${recipe.seed}`,
              data,
              trained,
              network: recipe,
              thresholds,
              period: { from: p.trainFrom, to: p.trainTo, labelsKnownAt: p.labelsKnownAt },
              sources: inputs.sources.map((source) => basename(source)),
              skippedRecords: inputs.transactionReport.skipped + inputs.labelReport.skipped,
              backend: backend.name,
            }),
          );
          return loadModel(dir, { catalog: FEATURE_NAMES });
        },
      });
  const results: FoldResult[] = [];
  for (const plan of plans) {
    console.log(`\nfold ${plan.fold}: train ${iso(plan.trainFrom)} .. ${iso(plan.trainTo)} (validation from ${iso(plan.validationFrom)}), labels before ${iso(plan.labelsKnownAt)}, test ${iso(plan.testFrom)} .. ${iso(plan.testTo)}`);
    const result = await evaluateFold(foldSetup(network, 'model'), plan);
    console.log(formatEvaluation(result.report));
    results.push(result);
  }
  const summary = summariseFolds(results.map((r) => r.report));
  console.log(`\n${formatFoldSummary(summary, folds, k)}`);
  const levers: Array<{ recipe: string; network: NetworkOptions; model: FoldSummary['model'] }> = [];
  for (const [index, recipe] of (args.compare ?? []).entries()) {
    const overrides = Object.fromEntries(recipe.split(';').map((pair) => pair.split('=').map((part) => part.trim())));
    const unknown = Object.keys(overrides).filter((name) => !(name in NETWORK_OPTIONS) || name === 'features');
    if (unknown.length > 0) throw new NonRetriableError(`--compare "${recipe}": ${unknown.join(', ')} is not a network option`);
    const variant = parseNetworkOptions({ ...args, ...overrides });
    const reports: EvaluationReport[] = [];
    for (const plan of plans) {
      const result = await evaluateFold({ ...foldSetup(variant, `compare-${index + 1}`), combine: false, baselines: false }, plan);
      result.model.dispose();
      reports.push(result.report);
    }
    levers.push({ recipe, network: variant, model: summariseFolds(reports).model });
    console.log(`${formatFoldSummary({ model: levers[levers.length - 1].model }, folds, k).split('\n').slice(2).join('')}   ← ${recipe}`);
  }
  await mkdir(outDir, { recursive: true });
  const output = {
    protocol: { ...protocol, firstTestFrom: iso(protocol.firstTestFrom) },
    network,
    boosting,
    featureNames,
    rules: { file: rulesFile, version: ruleSet.version },
    truth: args.truth ?? 'labels',
    summary,
    levers,
    folds: results.map(({ plan, report, training }) => {
      const { perDay: _perDay, ...figures } = report;
      return { plan: Object.fromEntries(Object.entries(plan).map(([key, v]) => [key, key === 'fold' ? v : iso(v)])), training, ...figures };
    }),
  };
  await writeFile(join(outDir, 'folds.json'), `${JSON.stringify(output, null, 2)}\n`);
  console.log(`wrote ${join(outDir, 'folds.json')}; fold models in ${join(outDir, 'fold-<n>', 'model')}`);
  if (args['scores-out'] !== undefined) {
    const written = await writeScores(
      args['scores-out'],
      results.map((r) => ({ fold: r.plan.fold, evaluation: r.evaluation, testTo: r.plan.testTo })),
      truth !== undefined,
    );
    console.log(`wrote ${written} scored rows to ${args['scores-out']}`);
  }
  for (const r of results) r.model.dispose();
}

const iso = (ms: number) => new Date(ms).toISOString();

main().catch((error: unknown) => {
  console.error(error instanceof NonRetriableError ? `evaluate: ${error.message}` : error);
  process.exitCode = 1;
});
