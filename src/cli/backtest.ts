/**
 * `npm run backtest -- --rules candidate.yaml [--model dir] --input traffic.ndjson --labels labels.ndjson`
 * `npm run backtest -- --rules candidate.yaml --topic card-transactions --brokers host:9092 --from … --to …`
 *
 * What would this rule or model change have done? Replays the transactions once through the in-memory state and
 * scores every chunk twice with the service's own scoring, with the rules and model in force (the baseline) and with
 * the candidate, then prints the decision diff: alerts added and removed by rule and by reason, precision and
 * recall of both sides, a sample of changed decisions; `--out` writes every changed decision.
 */
import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CardLabel } from '../contract';
import { configFields } from '../config/schema';
import { combinationDrift } from '../decision/policy';
import { NonRetriableError } from '../errors';
import { createKafka } from '../kafka/client';
import { kafkaSettingsFromEnv } from '../kafka/settings';
import { readTopicRange } from '../kafka/topic-range';
import { loadModel, type ModelScorer } from '../model/scorer';
import { BacktestDiff, createSideScorer, formatBacktest, type BacktestSide } from '../offline/backtest';
import { replay } from '../offline/dataset';
import { INPUT_HELP, INPUT_OPTIONS, openInputs, parseInstant } from '../offline/inputs';
import { decodeLabels, decodeTransactions, readFraudTruth, readLabelsNdjson, SourceReport, type RawMessage, type SourceRecord } from '../offline/sources';
import { createRulesHolder, liveRuleIds, type RuleSet } from '../rules';
import { FEATURE_INDEX, FEATURE_NAMES } from '../state/features';
import { createMemoryStore } from '../state/memory-store';
import { Telemetry } from '../telemetry/events';
import { createLogger } from '../telemetry/logger';
import { parseToolArgs } from './args';

const HELP = `Usage: npm run backtest -- --rules <file> [--model <dir>] (--input <file> | --topic <name>) [options]

Replays the transactions once (state built by the service's own code, labels delivered when reported) and scores
each of them twice with the service's scoring: with the baseline rules and model, and with the candidate's. Prints
both sides' alerts with precision and recall against the labels (or --truth), the alerts added, removed and changed
between review and block, by the rule that caused the change and by the reason codes the alerts carry, and a sample
of changed decisions. Thresholds and suppression as the service: REVIEW_THRESHOLD, BLOCK_THRESHOLD,
ALERT_SUPPRESSION_SECONDS (defaults ${configFields.reviewThreshold.defaultText}, ${configFields.blockThreshold.defaultText}, ${configFields.alertSuppressionSeconds.defaultText}).

Candidate (at least one must differ from the baseline)
  --rules <file>            candidate rule file (default: the baseline's)
  --model <dir|none>        candidate model directory, none for rules only (default: the baseline's)
Baseline
  --baseline-rules <file>   default: RULES_FILE or ${configFields.rulesFile.defaultText}
  --baseline-model <dir>    default: MODEL_DIR or ${configFields.modelDir.defaultText}; none for rules only

Period
  --from <time>             first transaction read (a date = UTC midnight, or an ISO timestamp)
  --to <time>               end of what is read, exclusive
  --compare-from <time>     transactions before it are replayed (state warm) but not compared (default: --from)
  On a topic, --from and --to select by the records' Kafka timestamps; in a file, by event time.

Truth
  --truth <file>            simulator truth.ndjson: judge against the real frauds, not only reported ones
                            (default: a transaction is fraud when a fraud label names it, whenever reported)

Output
  --sample <n>              changed decisions printed (default 10; chosen by a hash of the transaction id)
  --out <file.ndjson>       one line per transaction whose decision changed: transactionId, cardToken, maskedPan,
                            eventTime, amount, fraud, change, causes, both sides' score, action, reasons, model score

${INPUT_HELP}

Kafka input (instead of --input)
  --topic <name>            transactions topic (v1 messages); read partition by partition for the period, then
                            ordered by event time (the period is held in memory)
  --brokers <list>          host:port,… (default: KAFKA_BROKERS; KAFKA_SASL_*, KAFKA_TLS* apply as for the service)
  --labels-topic <name>     labels topic, read from --from to its end (or give --labels <file>)`;

const { values: args } = parseToolArgs('backtest', {
  options: {
    ...INPUT_OPTIONS,
    rules: { type: 'string' },
    model: { type: 'string' },
    'baseline-rules': { type: 'string' },
    'baseline-model': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'compare-from': { type: 'string' },
    truth: { type: 'string' },
    sample: { type: 'string', default: '10' },
    out: { type: 'string' },
    topic: { type: 'string' },
    brokers: { type: 'string' },
    'labels-topic': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

/** A service setting from the environment, validated by its config field (a bad value is a ConfigError naming it). */
function setting<T>(field: { env: string; parse(raw: string | undefined): T }): T {
  return field.parse(process.env[field.env]);
}

/** An input file that cannot be read is one line naming its flag, before any work starts. */
async function readable(option: string, path: string | undefined): Promise<void> {
  if (path === undefined) return;
  await access(path, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
    throw new NonRetriableError(`--${option} ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
}

async function loadRules(option: string, file: string): Promise<RuleSet> {
  try {
    const holder = await createRulesHolder({ file, featureIndex: FEATURE_INDEX, telemetry: new Telemetry(), logger: createLogger({ level: 'warn' }), watch: false });
    holder.close();
    return holder.current();
  } catch (error) {
    throw new NonRetriableError(`--${option}: ${(error as Error).message}`);
  }
}

async function loadModelOrNone(option: string, dir: string): Promise<ModelScorer | undefined> {
  if (dir === 'none') return undefined;
  try {
    return await loadModel(dir, { catalog: FEATURE_NAMES });
  } catch (error) {
    throw new NonRetriableError(`--${option} ${dir}: ${(error as Error).message}`);
  }
}

async function* arrayOf<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** A file's records in [from, to) by event time; the file is in event-time order, so reading stops at `to`. */
async function* withinPeriod(records: AsyncIterable<SourceRecord>, from: number, to: number): AsyncGenerator<SourceRecord> {
  for await (const record of records) {
    const time = record.transaction.eventTimeMs;
    if (time >= to) return;
    if (time >= from) yield record;
  }
}

interface Inputs {
  records: AsyncIterable<SourceRecord>;
  labels: CardLabel[];
  reports: SourceReport[];
  describe: string;
}

async function fileInputs(from: number, to: number): Promise<Inputs> {
  const inputs = await openInputs(args);
  return { records: withinPeriod(inputs.records(), from, to), labels: inputs.labels, reports: [inputs.transactionReport, inputs.labelReport], describe: inputs.sources.join(' + ') };
}

async function topicInputs(topic: string, from: number | undefined, to: number | undefined): Promise<Inputs> {
  let brokers: string[];
  try {
    brokers = configFields.kafkaBrokers.parse(args.brokers ?? process.env.KAFKA_BROKERS);
  } catch (error) {
    throw new NonRetriableError(`--brokers: ${(error as Error).message}`);
  }
  if (brokers.length === 0) throw new NonRetriableError('--topic needs --brokers host:port,… (or KAFKA_BROKERS)');
  const kafka = createKafka({ ...kafkaSettingsFromEnv(process.env), kafkaBrokers: brokers }, createLogger({ level: 'warn', name: 'backtest', destination: process.stderr }));
  const messagesOf = async (name: string, range: { fromMs?: number; toMs?: number }): Promise<RawMessage[]> => {
    const records = await readTopicRange(kafka, name, range);
    // Partition then offset: a fixed order before the event-time sort, so equal event times always replay alike.
    records.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
    return records.map((r) => ({ where: `${name}/${r.partition}@${r.offset}`, value: r.value }));
  };
  const transactionReport = new SourceReport();
  const labelReport = new SourceReport();
  const transactions: SourceRecord[] = [];
  for await (const record of decodeTransactions(await messagesOf(topic, { fromMs: from, toMs: to }), { report: transactionReport })) transactions.push(record);
  transactions.sort((a, b) => a.transaction.eventTimeMs - b.transaction.eventTimeMs);
  const labels = args['labels-topic'] !== undefined ? await decodeLabels(await messagesOf(args['labels-topic'], { fromMs: from }), { report: labelReport }) : [];
  if (args.labels !== undefined) labels.push(...(await readLabelsNdjson(args.labels, { report: labelReport })));
  return {
    records: arrayOf(transactions),
    labels,
    reports: [transactionReport, labelReport],
    describe: `topic ${topic}${args['labels-topic'] ? ` + ${args['labels-topic']}` : ''}${args.labels ? ` + ${args.labels}` : ''}`,
  };
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(HELP);
    return;
  }
  const sampleSize = Number(args.sample);
  if (!Number.isInteger(sampleSize) || sampleSize < 0) throw new NonRetriableError(`--sample "${args.sample}" must be a whole number of at least 0`);
  if (args.topic !== undefined && args.input !== undefined) throw new NonRetriableError('give --input or --topic, not both');
  if (args.topic === undefined && args['labels-topic'] !== undefined) throw new NonRetriableError('--labels-topic goes with --topic');
  const from = parseInstant('from', args.from);
  const to = parseInstant('to', args.to);
  const compareFrom = parseInstant('compare-from', args['compare-from']) ?? from ?? Number.NEGATIVE_INFINITY;
  if (from !== undefined && to !== undefined && to <= from) throw new NonRetriableError('--to must be after --from');

  const policy = { reviewThreshold: setting(configFields.reviewThreshold), blockThreshold: setting(configFields.blockThreshold) };
  if (policy.blockThreshold < policy.reviewThreshold) throw new NonRetriableError('BLOCK_THRESHOLD must not be below REVIEW_THRESHOLD');
  const suppressionSeconds = setting(configFields.alertSuppressionSeconds);
  const baselineRulesFile = resolve(args['baseline-rules'] ?? process.env.RULES_FILE ?? configFields.rulesFile.defaultText);
  const candidateRulesFile = args.rules === undefined ? baselineRulesFile : resolve(args.rules);
  const baselineModelDir = args['baseline-model'] ?? process.env.MODEL_DIR ?? configFields.modelDir.defaultText;
  const candidateModelDir = args.model ?? baselineModelDir;
  const sameModel = candidateModelDir === baselineModelDir || (candidateModelDir !== 'none' && baselineModelDir !== 'none' && resolve(candidateModelDir) === resolve(baselineModelDir));
  if (candidateRulesFile === baselineRulesFile && sameModel) {
    throw new NonRetriableError(`the candidate is the baseline (rules ${baselineRulesFile}, model ${baselineModelDir}): give --rules and/or --model that differ`);
  }

  for (const option of ['input', 'labels', 'truth'] as const) await readable(option, args[option]);
  const baselineRules = await loadRules('baseline-rules', baselineRulesFile);
  const candidateRules = candidateRulesFile === baselineRulesFile ? baselineRules : await loadRules('rules', candidateRulesFile);
  const baselineModel = await loadModelOrNone('baseline-model', baselineModelDir);
  const candidateModel = sameModel ? baselineModel : await loadModelOrNone('model', candidateModelDir);
  const truth = args.truth === undefined ? undefined : await readFraudTruth(args.truth);
  const inputs = args.topic !== undefined ? await topicInputs(args.topic, from, to) : await fileInputs(from ?? Number.NEGATIVE_INFINITY, to ?? Number.POSITIVE_INFINITY);

  const describe = (rules: RuleSet, file: string, model: ModelScorer | undefined) => `rules ${rules.version} (${file}), model ${model === undefined ? 'none' : model.version}`;
  const names = { baseline: describe(baselineRules, baselineRulesFile, baselineModel), candidate: describe(candidateRules, candidateRulesFile, candidateModel) };
  for (const [name, rules, model] of [['baseline', baselineRules, baselineModel], ['candidate', candidateRules, candidateModel]] as const) {
    const drift = combinationDrift(model?.metadata.combination, rules.version, liveRuleIds(rules));
    if (drift !== undefined) console.log(`note (${name}): ${drift}`);
  }
  console.log(`input ${inputs.describe}; truth: ${args.truth ?? 'fraud labels'}`);

  const settings = { policy, suppressionSeconds };
  const sides: [BacktestSide, BacktestSide] = [
    { rules: baselineRules, model: baselineModel },
    { rules: candidateRules, model: candidateModel },
  ];
  const [scoreBaseline, scoreCandidate] = sides.map((side) => createSideScorer(side, settings));
  const diff = new BacktestDiff(sampleSize);
  const out = args.out === undefined ? undefined : await open(args.out, 'w').catch((error: Error) => {
    throw new NonRetriableError(`--out ${args.out}: ${error.message}`);
  });
  const started = performance.now();
  try {
    for await (const batch of replay(inputs.records, { store: createMemoryStore(), labels: inputs.labels })) {
      const baseline = await scoreBaseline(batch);
      const candidate = await scoreCandidate(batch);
      const lines: string[] = [];
      batch.forEach((row, i) => {
        if (row.duplicate || row.tooOld) return diff.skipDuplicateOrLate();
        if (row.transaction.eventTimeMs < compareFrom) return diff.skip();
        const fraud = truth === undefined ? row.fraudLabel !== undefined : truth.has(row.transaction.transactionId);
        const changed = diff.add({ transaction: row.transaction, fraud, baseline: baseline[i], candidate: candidate[i] });
        if (changed !== undefined && out !== undefined) lines.push(`${JSON.stringify(changed)}\n`);
      });
      if (lines.length > 0) await out!.write(lines.join(''));
    }
  } finally {
    await out?.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const report = diff.result();
  if (report.transactions.compared === 0) throw new NonRetriableError('no transaction to compare: check the input against --from / --to / --compare-from');
  const skipped = inputs.reports.reduce((sum, r) => sum + r.skipped, 0);
  console.log(
    `replayed once and scored twice in ${seconds.toFixed(1)} s (${Math.round(report.transactions.replayed / seconds)} transactions/s); ${skipped} input records skipped${skipped > 0 ? ` (${inputs.reports.flatMap((r) => r.problems).slice(0, 3).join('; ')})` : ''}`,
  );
  console.log(formatBacktest(report, names));
  if (args.out !== undefined) console.log(`wrote ${report.changes.total} changed decisions to ${args.out}`);
  baselineModel?.dispose();
  if (!sameModel) candidateModel?.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof NonRetriableError ? `backtest: ${error.message}` : error);
  process.exitCode = 1;
});
