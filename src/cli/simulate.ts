/**
 * `npm run simulate -- --seed 1 --days 60 --customers 20000 --out traffic.ndjson`
 * `npm run simulate -- --kafka --rate 5000`
 *
 * Synthetic bank traffic: v1 transactions (and labels, and ground truth) to NDJSON files and/or Kafka.
 */
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { configFields } from '../config/schema';
import { connectProducer, createKafka, ensureTopics, type KafkaSettings, type TopicProducer } from '../kafka/client';
import { kafkaSettingsFromEnv } from '../kafka/settings';
import { FRAUD_SCENARIOS, createSimulation, type FraudScenario, type SimOptionsInput } from '../sim';
import { HOME_OFFSET_MINUTES } from '../sim/geo';
import { drive, type KafkaTarget } from '../sim/output/drive';
import { NdjsonFileWriter } from '../sim/output/ndjson-file';
import { createProgressReporter } from '../sim/output/progress';
import { formatSummary } from '../sim/summary';
import { createLogger } from '../telemetry/logger';

const HELP = `Usage: npm run simulate -- [options]

Generates a seeded, deterministic stream of card transactions (v1 contract) with labelled fraud scenarios.
Same seed and options give byte-identical files.

Population and time
  --seed N                 random seed (default 1)
  --days N                 simulated days (default 60)
  --customers N            customers; each has 1-3 cards (default 20000)
  --start YYYY-MM-DD       first simulated day, local midnight in Kazakhstan (default 2026-01-05), or "today"
  --transactions N         stop after N transactions (default: no limit)
  --id-prefix P            prefix of transaction ids (default s<seed>-)

Fraud and labels
  --fraud NAME=RATE[,...]  incidents per day per 10,000 cards; 0 switches a scenario off. Repeatable.
                           scenarios: ${FRAUD_SCENARIOS.join(', ')}
  --exploit-share X        share of cards stolen at a breached point that are later used (default 0.35)
  --unreported-share X     share of fraud cases never reported (default 0.2)
  --false-report-rate X    share of genuine transactions wrongly reported as fraud (default 0.0002)

Output (at least one)
  --out FILE               transactions NDJSON; labels.ndjson and truth.ndjson are written beside it
  --labels-out FILE        labels NDJSON (default: labels.ndjson beside --out)
  --truth-out FILE         ground truth NDJSON, for evaluation only (default: truth.ndjson beside --out)
  --kafka                  produce to Kafka: KAFKA_BROKERS, TRANSACTIONS_TOPIC, LABELS_TOPIC (and the other
                           KAFKA_* settings) from the environment; messages keyed by card reference
  --rate N                 messages per second, steady (default 0: as fast as possible)
  --fast                   same as --rate 0
  --batch-size N           messages per Kafka send (default 1000; a batch must fit the broker's
                           message.max.bytes, 1 MB by default, at about 400 bytes a message per partition)
`;

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number of at least ${min}, not "${raw}"`);
  return value;
}

function share(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`--${name} must be a number from 0 to 1, not "${raw}"`);
  return value;
}

function parseStart(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'today') {
    const localNow = new Date(Date.now() + HOME_OFFSET_MINUTES * 60_000);
    return Date.UTC(localNow.getUTCFullYear(), localNow.getUTCMonth(), localNow.getUTCDate()) - HOME_OFFSET_MINUTES * 60_000;
  }
  // Days start at local midnight: the daily rhythm (quiet nights, evening peaks) is planned from there.
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw)) throw new UsageError(`--start must be a date YYYY-MM-DD or "today", not "${raw}"`);
  const ms = Date.parse(`${raw}T00:00:00+05:00`);
  if (!Number.isFinite(ms)) throw new UsageError(`--start "${raw}" is not a valid date`);
  return ms;
}

function parseFraudRates(values: string[] | undefined): Partial<Record<FraudScenario, number>> {
  const rates: Partial<Record<FraudScenario, number>> = {};
  for (const item of (values ?? []).flatMap((v) => v.split(','))) {
    const match = /^\s*([a-z-]+)\s*=\s*([0-9.eE+-]+)\s*$/.exec(item);
    if (!match) throw new UsageError(`--fraud expects NAME=RATE, not "${item}"`);
    const [, name, rate] = match;
    if (!(FRAUD_SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`--fraud: unknown scenario "${name}" (known: ${FRAUD_SCENARIOS.join(', ')})`);
    rates[name as FraudScenario] = Number(rate);
  }
  return rates;
}

/** The Kafka settings and the two topics, from the environment. */
function kafkaTargetFromEnv(env: NodeJS.ProcessEnv): KafkaSettings & { transactionsTopic: string; labelsTopic: string } {
  const settings = {
    ...kafkaSettingsFromEnv(env),
    transactionsTopic: configFields.transactionsTopic.parse(env[configFields.transactionsTopic.env]),
    labelsTopic: configFields.labelsTopic.parse(env[configFields.labelsTopic.env]),
  };
  if (settings.kafkaBrokers.length === 0) throw new UsageError('--kafka needs KAFKA_BROKERS (host:port,…) in the environment');
  if (settings.transactionsTopic === settings.labelsTopic) throw new UsageError('TRANSACTIONS_TOPIC and LABELS_TOPIC name the same topic');
  return settings;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      seed: { type: 'string' },
      days: { type: 'string' },
      customers: { type: 'string' },
      start: { type: 'string' },
      transactions: { type: 'string' },
      'id-prefix': { type: 'string' },
      fraud: { type: 'string', multiple: true },
      'exploit-share': { type: 'string' },
      'unreported-share': { type: 'string' },
      'false-report-rate': { type: 'string' },
      out: { type: 'string' },
      'labels-out': { type: 'string' },
      'truth-out': { type: 'string' },
      kafka: { type: 'boolean' },
      rate: { type: 'string' },
      fast: { type: 'boolean' },
      'batch-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.out === undefined && values['labels-out'] === undefined && values['truth-out'] === undefined && !values.kafka) {
    throw new UsageError('nothing to write: give --out FILE and/or --kafka');
  }
  const seed = Number(values.seed ?? 1);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, not "${values.seed}"`);
  const input: SimOptionsInput = {
    seed,
    days: positiveInt('days', values.days, 60),
    customers: positiveInt('customers', values.customers, 20000),
    startMs: parseStart(values.start),
    maxTransactions: values.transactions === undefined ? undefined : positiveInt('transactions', values.transactions, 0),
    idPrefix: values['id-prefix'],
    fraudRates: parseFraudRates(values.fraud),
    compromise: { exploitShare: share('exploit-share', values['exploit-share']) },
    labels: { unreportedShare: share('unreported-share', values['unreported-share']), falseReportRate: share('false-report-rate', values['false-report-rate']) },
  };
  const rate = values.fast ? 0 : positiveInt('rate', values.rate, 0, 0);
  const batchSize = positiveInt('batch-size', values['batch-size'], 1000);
  const simulation = createSimulation(input);

  const besideOut = (name: string) => (values.out === undefined ? undefined : join(dirname(values.out), name));
  const transactionsPath = values.out;
  const labelsPath = values['labels-out'] ?? besideOut('labels.ndjson');
  const truthPath = values['truth-out'] ?? besideOut('truth.ndjson');

  let producer: TopicProducer | undefined;
  let kafka: KafkaTarget | undefined;
  if (values.kafka) {
    const settings = kafkaTargetFromEnv(process.env);
    const client = createKafka(settings, createLogger({ level: 'warn', name: 'simulate', destination: process.stderr }));
    await ensureTopics(client, [{ topic: settings.transactionsTopic }, { topic: settings.labelsTopic }]);
    producer = await connectProducer(client);
    kafka = { producer, transactionsTopic: settings.transactionsTopic, labelsTopic: settings.labelsTopic };
  }

  let stopRequested = false;
  const onSignal = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\nstopping after the current batch (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const { options } = simulation;
  const progress = createProgressReporter(process.stderr, { startMs: options.startMs, endMs: options.startMs + options.days * 86_400_000, maxTransactions: options.maxTransactions });
  try {
    const result = await drive(simulation, {
      transactionsFile: transactionsPath === undefined ? undefined : new NdjsonFileWriter(transactionsPath),
      labelsFile: labelsPath === undefined ? undefined : new NdjsonFileWriter(labelsPath),
      truthFile: truthPath === undefined ? undefined : new NdjsonFileWriter(truthPath),
      kafka,
      ratePerSecond: rate,
      batchSize,
      onProgress: (p) => progress.update(p),
      shouldStop: () => stopRequested,
    });
    const endMs = options.startMs + options.days * 86_400_000;
    const reachedMs = result.stoppedEarly ? (simulation.stats.lastTransactionMs ?? options.startMs) : endMs;
    progress.finish({ transactions: result.transactions, labels: result.labels, simTimeMs: reachedMs, elapsedMs: result.elapsedMs });
    process.stdout.write(`${formatSummary(simulation, { elapsedMs: result.elapsedMs })}\n`);
    if (result.stoppedEarly) process.stdout.write('(stopped early on request: the files and topics hold what was produced so far)\n');
    const written = [transactionsPath, labelsPath, truthPath].filter((p) => p !== undefined);
    if (written.length > 0) process.stdout.write(`written: ${written.join(', ')}\n`);
    if (kafka) process.stdout.write(`produced to: ${kafka.transactionsTopic}, ${kafka.labelsTopic}\n`);
  } finally {
    await producer?.disconnect();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  // exitCode rather than exit(): stdout may still be flushing into a pipe.
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`simulate: ${message}\n${error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 'Run with --help for the options.\n' : ''}`);
    process.exitCode = 1;
  },
);
