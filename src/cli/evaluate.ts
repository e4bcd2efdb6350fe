/**
 * `npm run evaluate -- --model models/default --input traffic.ndjson --labels labels.ndjson --test-from 2026-02-23`
 *
 * Scores the test period with the rules alone, the model alone and the combined decision policy (with the model's
 * fitted combination when its metadata has one), after replaying everything before it (state warm, labels as
 * reported), and writes the figures as JSON plus two SVG charts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configFields } from '../config/schema';
import { NonRetriableError } from '../errors';
import { readMetadata, recordEvaluation } from '../model/artifact';
import { dailySvg, precisionRecallSvg } from '../offline/charts';
import { replay, type ReplayRow } from '../offline/dataset';
import { Evaluation, formatEvaluation, SYSTEMS } from '../offline/evaluate';
import { INPUT_HELP, INPUT_OPTIONS, openInputs, parseInstant } from '../offline/inputs';
import { loadModel } from '../model/scorer';
import { readFraudTruth } from '../offline/sources';
import { combinationDrift } from '../decision/policy';
import { createRulesHolder, liveRuleIds } from '../rules';
import { FEATURE_INDEX, FEATURE_NAMES } from '../state/features';
import { createMemoryStore } from '../state/memory-store';
import { Telemetry } from '../telemetry/events';
import { createLogger } from '../telemetry/logger';

const HELP = `Usage: npm run evaluate -- --model <dir> --input <file> [--labels <file>] --test-from <date> [options]

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

${INPUT_HELP}`;

const { values: args } = parseArgs({
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
  if (args.model === undefined) throw new NonRetriableError('--model is required (a model directory, e.g. models/default)');
  const testFrom = parseInstant('test-from', args['test-from']);
  if (testFrom === undefined) throw new NonRetriableError('--test-from is required (the first test day, e.g. 2026-02-23)');
  const testTo = parseInstant('test-to', args['test-to']) ?? Number.POSITIVE_INFINITY;
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
  if (args.record) {
    const key = args.truth ? 'testAgainstTruth' : 'testAgainstLabels';
    const { perDay: _perDay, ...summary } = report;
    await recordEvaluation(args.model, FEATURE_NAMES, key, { ...summary, rulesVersion: ruleSet.version });
    console.log(`recorded the figures in ${join(args.model, 'metadata.json')} (evaluation.${key})`);
  }
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof NonRetriableError ? `evaluate: ${error.message}` : error);
  process.exitCode = 1;
});
