/**
 * The composition root: the one place that builds and wires every part. `startService` runs the real service
 * in-process (the CLI entry, the demo and the end-to-end tests all call it); `stop` closes in reverse order.
 *
 * Modes:
 * - kafka: KAFKA_BROKERS set. Transactions and labels from Kafka, state in Redis (shared by every instance),
 *   alerts to Kafka. Offsets are committed only after the state write and the alert produce are acknowledged.
 * - embedded: no KAFKA_BROKERS. Transactions by POST /v1/transactions, alerts at GET /v1/alerts; state in memory
 *   (or in Redis when REDIS_URL is set). For the demo and for trying rules; one process, nothing shared.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, modeOf, type Mode } from './config/load';
import type { Config } from './config/schema';
import { ConfigError } from './errors';
import { combinationDrift } from './decision/policy';
import { Telemetry } from './telemetry/events';
import { createLogger, type Logger } from './telemetry/logger';
import { createMetrics } from './telemetry/metrics';
import { InMemoryListRegistry, RedisListMirror, createRulesHolder, liveRuleIds, type RulesHolder } from './rules';
import { startCompromiseDetection, type CompromiseRuntime } from './compromise/runtime';
import { createModelSlot, type ModelScorer, type ModelSlot } from './model/scorer';
import { watchModelDirectory } from './model/watch';
import { startChallenger, type RunningChallenger } from './scoring/challenger';
import { FEATURE_INDEX, FEATURE_NAMES } from './state/features';
import { createMemoryStore } from './state/memory-store';
import { createRedisStore } from './state/redis-store';
import { connectRedis, logConnectionState } from './state/redis-connection';
import type { FeatureStore } from './state/store';
import { createMemorySuppressor, type AlertSuppressor } from './alerts/suppression';
import { createRedisSuppressor } from './alerts/redis-suppressor';
import { RecentAlerts, fanOut, kafkaAlertSink, kafkaDecisionSink, type AlertSink, type DecisionSink } from './alerts/sinks';
import { createKafka, createTopicProducer, ensureTopics, explainKafkaFailure, probeKafka, type KafkaAccess } from './kafka/client';
import { startBatchConsumer, type ChunkHandler, type RunningConsumer } from './consumer/batch-consumer';
import { transactionChunkHandler, labelChunkHandler } from './consumer/handlers';
import { createMessageDecoders } from './scoring/ingest';
import { createEmbeddedIngestion, type IngestResult } from './scoring/embedded';
import type { ScoringDependencies } from './scoring/pipeline';
import { createHttpApp } from './http/app';
import { deskEnabled, startDesk, type RunningDesk } from './desk';

export interface StartOptions {
  /** Settings that win over the environment (tests: their own topics, groups and key prefixes). */
  overrides?: Partial<Config>;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Create missing topics at start (development and tests; production topics are provisioned by their owners). */
  createTopics?: boolean;
  /**
   * The service's event bus, for callers that must see every event (benchmarks, tests): the consumers may score a
   * chunk before startService returns, so listeners added to `RunningService.telemetry` afterwards can miss it.
   */
  telemetry?: Telemetry;
}

export interface RunningService {
  config: Config;
  mode: Mode;
  /** The HTTP port actually bound (HTTP_PORT=0 picks a free one). */
  port: number;
  telemetry: Telemetry;
  /** Resolves with the reason when the service can no longer work and must exit (e.g. the consumer crashed). */
  fatal: Promise<Error>;
  /** Scores transactions in-process (embedded mode, the demo, backtests). */
  scoreMessages(body: string): Promise<IngestResult>;
  /** Records labels in-process (embedded mode, the demo). */
  recordLabelMessages(body: string): Promise<IngestResult>;
  /** The fraud desk at /desk/, when it runs (embedded mode, or DESK_DATABASE_URL set). */
  desk?: RunningDesk;
  stop(): Promise<void>;
}

export async function startService(options: StartOptions = {}): Promise<RunningService> {
  const config = loadConfig(options.env ?? process.env, options.overrides);
  const mode = modeOf(config);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const telemetry = options.telemetry ?? new Telemetry();
  const metrics = createMetrics(telemetry);
  const closers = new Closers(logger);
  let resolveFatal!: (error: Error) => void;
  const fatal = new Promise<Error>((r) => (resolveFatal = r));

  try {
    closers.add('metrics', () => metrics.detach());
    const model = await loadChampion(config, { logger, telemetry }, closers);
    const challenger = await loadChallenger(config, { logger, telemetry }, closers);
    const redis = connectState(config, logger, closers);
    const { rules, lists, localLists } = await startRules(config, redis, { logger, telemetry, model }, closers);
    const { store, suppressor } = createState(config, redis, { logger, telemetry }, closers);
    const outputs = createOutputs(config, mode, { logger, telemetry }, closers);
    const decoders = createMessageDecoders({ panHmacKey: panHmacKeyOf(config, logger), defaultCurrency: config.defaultCurrency, maxMessageBytes: config.maxMessageBytes });

    // Declared first: the desk's embedded label path runs labels through detection, which starts after the desk (its
    // alerts go to the sink the desk joins).
    let compromise: CompromiseRuntime | undefined;
    let desk: RunningDesk | undefined;
    if (deskEnabled(config, mode)) {
      desk = await startDesk({
        config,
        mode,
        logger,
        telemetry,
        decoders,
        rulesVersion: () => rules.current().version,
        kafka: outputs.kafka,
        producer: outputs.producer,
        // Analysts' labels in the embedded mode: into the state, then through compromise detection, as the labels topic's are.
        recordLabelsInState: async (labels) => {
          const outcomes = await store.recordLabels(labels);
          await compromise?.detector.onLabels(labels, outcomes);
          return outcomes;
        },
      });
      const running = desk;
      closers.add('desk', () => running.stop());
      if (desk.alertSink) outputs.alerts = fanOut(outputs.alerts, desk.alertSink);
      if (desk.decisionSink) outputs.decisions = desk.decisionSink;
    }
    if (config.compromiseDetection) {
      compromise = await startCompromiseDetection({
        config,
        redis,
        features: store,
        alerts: outputs.alerts,
        telemetry,
        logger,
        onListed: (list, id) => (lists ? void lists.refresh().catch(() => undefined) : localLists?.add(list, id)),
      });
      const running = compromise;
      closers.add('compromise', () => running.close());
    } else logger.info('COMPROMISE_DETECTION=false: no compromise detection');

    const scoring: ScoringDependencies = {
      store,
      rules: () => rules.current(),
      model: () => model?.current,
      challenger: challenger?.current,
      decisionFeatures: config.scoresIncludeFeatures,
      policy: { reviewThreshold: config.reviewThreshold, blockThreshold: config.blockThreshold },
      suppressor,
      alerts: outputs.alerts,
      decisions: outputs.decisions,
      telemetry,
      now: Date.now,
      compromise: compromise?.hooks,
    };
    const embedded = createEmbeddedIngestion({
      decoders,
      scoring,
      store,
      chunkSize: config.chunkSize,
      detector: () => compromise?.detector,
      deskLabels: desk?.ingestLabels,
    });

    const consumers: RunningConsumer[] = [];
    const app = createHttpApp({
      logger,
      registry: metrics.registry,
      alive: () => true,
      async readiness() {
        const checks: Record<string, boolean> = { rules: true, model: config.modelDir === 'none' || model !== undefined };
        // Any failure to answer a ping means the instance cannot score now: not ready, whatever the error's type.
        checks.state = await store.ping().then(
          () => true,
          () => false,
        );
        if (mode === 'kafka') checks.consumers = consumers.length === 2 && consumers.every((c) => c.isHealthy());
        if (desk) checks.desk = desk.isHealthy();
        return { ready: Object.values(checks).every(Boolean), checks };
      },
      ingest: mode === 'embedded' ? embedded.scoreMessages : undefined,
      ingestLabels: mode === 'embedded' ? embedded.recordLabelMessages : undefined,
      recentAlerts: (limit) => outputs.recent.latest(limit),
      rules: () => rules.describe(),
      model: () => ({ ...describeModel(model?.current), ...(challenger ? { challenger: describeModel(challenger.current()) } : {}) }),
      adminToken: config.adminToken,
      adminOpen: mode === 'embedded',
      maxBodyBytes: 16 * 1024 * 1024,
      desk: desk?.router,
    });
    const port = await listen(app, config.httpPort, closers);

    if (outputs.kafka && outputs.producer) {
      const { kafka, producer } = outputs;
      const startConsumers = async () => {
        const started = await startScoringConsumers(config, {
          kafka,
          telemetry,
          logger,
          transactions: transactionChunkHandler({ decoders, scoring, producer, dlqTopic: config.dlqTopic, telemetry, logger }),
          labels: labelChunkHandler({ decoders, store, detector: compromise?.detector, producer, dlqTopic: config.dlqTopic, telemetry }),
        }, closers);
        consumers.push(...started);
        void Promise.race(started.map((c) => c.crashed)).then(resolveFatal);
      };
      await connectKafka(config, { kafka, producer, logger, createTopics: options.createTopics === true, startConsumers, fail: resolveFatal }, closers);
    }

    logger.info({ mode, port, rulesVersion: rules.current().version, model: model?.current.version ?? 'none' }, 'card-shield started');
    let stopping: Promise<void> | undefined;
    return {
      config,
      mode,
      port,
      telemetry,
      fatal,
      scoreMessages: embedded.scoreMessages,
      recordLabelMessages: embedded.recordLabelMessages,
      desk,
      stop: () => (stopping ??= closers.closeAll().then(() => logger.info('card-shield stopped'))),
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}

type Kafka = ReturnType<typeof createKafka>;
type Producer = ReturnType<typeof createTopicProducer>;
type RedisConnection = ReturnType<typeof connectRedis>;

interface Observability {
  logger: Logger;
  telemetry: Telemetry;
}

/** What was started, closed in reverse order; a part that fails to close is logged and the others still close. */
class Closers {
  private readonly parts: Array<{ name: string; close: () => Promise<void> | void }> = [];
  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.parts.push({ name, close });
  }

  async closeAll(): Promise<void> {
    for (const { name, close } of this.parts.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        this.logger.warn({ err: error, component: name }, 'error while closing');
      }
    }
  }
}

function panHmacKeyOf(config: Config, logger: Logger): Buffer {
  if (config.panHmacKey !== undefined) return config.panHmacKey;
  // Embedded mode only (loadConfig requires the key otherwise): tokens are valid for this process alone.
  logger.warn('PAN_HMAC_KEY is not set: using a random key for this process; card tokens will differ after a restart');
  return randomBytes(32);
}

/** The champion model from MODEL_DIR, watched for a new version; undefined with MODEL_DIR=none. */
async function loadChampion(config: Config, { logger, telemetry }: Observability, closers: Closers): Promise<ModelSlot | undefined> {
  if (config.modelDir === 'none') {
    logger.info('MODEL_DIR=none: scoring with rules only');
    return undefined;
  }
  const dir = resolve(config.modelDir);
  if (!existsSync(dir)) throw new ConfigError('MODEL_DIR', `${config.modelDir} does not exist (set MODEL_DIR=none to score with rules only)`);
  const model = await createModelSlot(dir, { catalog: FEATURE_NAMES, telemetry });
  logger.info({ version: model.current.version, backend: model.current.backend.detail }, 'model loaded');
  const watcher = watchModelDirectory(model, dir, { logger, telemetry });
  closers.add('model', () => {
    watcher.close();
    model.dispose();
  });
  return model;
}

/** A model as GET /v1/model shows it; `none` while a challenger's directory holds no valid model. */
function describeModel(scorer: ModelScorer | undefined) {
  return scorer ? { version: scorer.version, backend: scorer.backend, metadata: scorer.metadata } : { model: 'none' };
}

/** The challenger from CHALLENGER_MODEL_DIR, scored beside the champion and never deciding; undefined when unset. */
async function loadChallenger(config: Config, observability: Observability, closers: Closers): Promise<RunningChallenger | undefined> {
  if (config.challengerModelDir === undefined) return undefined;
  const challenger = await startChallenger(config.challengerModelDir, observability);
  closers.add('challenger', () => challenger.close());
  return challenger;
}

function connectState(config: Config, logger: Logger, closers: Closers): RedisConnection | undefined {
  if (config.redisUrl === undefined && config.redisClusterNodes.length === 0) return undefined;
  const redis = connectRedis(config);
  logConnectionState(redis, logger);
  closers.add('redis', () => void redis.disconnect());
  return redis;
}

/** The hot-reloaded rule file and its named lists. */
async function startRules(config: Config, redis: RedisConnection | undefined, deps: Observability & { model?: ModelSlot }, closers: Closers) {
  const { logger, telemetry, model } = deps;
  // Lists declared `external` in the rule file are Redis sets, mirrored in memory (rules evaluate synchronously);
  // without Redis they live in this process, where compromise detection adds the points it flags.
  const lists = redis ? new RedisListMirror({ redis, keyPrefix: config.redisKeyPrefix, logger, telemetry }) : undefined;
  const localLists = redis ? undefined : new InMemoryListRegistry({ compromised_terminals: [], compromised_merchants: [] });
  const rules: RulesHolder = await createRulesHolder({ file: resolve(config.rulesFile), featureIndex: FEATURE_INDEX, telemetry, logger, lists: lists ?? localLists });
  closers.add('rules', () => rules.close());

  // The model's rule weights were fitted against one rule set version: say so when the live rules differ (at start,
  // after a rules reload, after a model swap), so analysts know to refit (npm run train -- --calibrate).
  const checkCombination = () => {
    const ruleSet = rules.current();
    const drift = combinationDrift(model?.current.metadata.combination, ruleSet.version, liveRuleIds(ruleSet));
    if (drift !== undefined) logger.warn({ model: model?.current.version, rulesVersion: ruleSet.version }, drift);
  };
  checkCombination();
  const stopCheckingRules = telemetry.on('rules.reloaded', checkCombination);
  const stopCheckingModel = telemetry.on('model.loaded', (e) => e.role === 'champion' && checkCombination());
  closers.add('combination-check', () => {
    stopCheckingRules();
    stopCheckingModel();
  });

  if (lists) {
    // Redis down at start is a not-ready service, not a failed start: the lists keep their file entries and the
    // refresh timer retries (readiness already says state: false).
    await lists.refresh().catch((error: unknown) => logger.warn({ err: error }, 'lists: the first read from Redis failed; retrying on the refresh interval'));
    lists.start();
    // A new rule version may declare new lists: read them now rather than at the next periodic refresh.
    const stopRefreshing = telemetry.on('rules.reloaded', () => void lists.refresh());
    closers.add('lists', () => (stopRefreshing(), lists.close()));
  }
  return { rules, lists, localLists };
}

/** The behavioural state and the alert suppressor: in Redis when there is one, else in this process. */
function createState(config: Config, redis: RedisConnection | undefined, { logger, telemetry }: Observability, closers: Closers): { store: FeatureStore; suppressor: AlertSuppressor } {
  const suppressionMs = config.alertSuppressionSeconds * 1000;
  let store: FeatureStore;
  let suppressor: AlertSuppressor;
  if (redis) {
    store = createRedisStore(redis, { keyPrefix: config.redisKeyPrefix, telemetry });
    suppressor = createRedisSuppressor(redis, { keyPrefix: config.redisKeyPrefix, periodMs: suppressionMs });
    logger.info({ redis: config.redisClusterNodes.length > 0 ? 'cluster' : 'single' }, 'state in Redis');
  } else {
    store = createMemoryStore({ telemetry });
    suppressor = createMemorySuppressor(suppressionMs);
    logger.warn('state lives in memory: it is lost on exit and not shared between processes (embedded mode)');
  }
  closers.add('store', () => store.close());
  return { store, suppressor };
}

interface Outputs {
  /** The last alerts, for GET /v1/alerts. */
  recent: RecentAlerts;
  alerts: AlertSink;
  decisions?: DecisionSink;
  kafka?: Kafka;
  producer?: Producer;
}

/** Where alerts and decisions go: Kafka topics in the kafka mode (and always the recent-alerts view). */
function createOutputs(config: Config, mode: Mode, { logger, telemetry }: Observability, closers: Closers): Outputs {
  const recent = new RecentAlerts(1000);
  if (mode !== 'kafka') return { recent, alerts: recent };
  const kafka = createKafka(config, logger);
  // Connected by connectKafka, after the HTTP server listens: nothing is sent before the consumers run.
  const producer = createTopicProducer(kafka);
  closers.add('producer', () => producer.disconnect());
  return {
    recent,
    alerts: fanOut(kafkaAlertSink(producer, config.alertsTopic, telemetry, Date.now), recent),
    decisions: config.scoresTopic ? kafkaDecisionSink(producer, config.scoresTopic) : undefined,
    kafka,
    producer,
  };
}

async function listen(app: ReturnType<typeof createHttpApp>, httpPort: number, closers: Closers): Promise<number> {
  const server: Server = await new Promise((resolveListen, reject) => {
    const listening = app.listen(httpPort, '0.0.0.0', () => resolveListen(listening));
    listening.once('error', reject);
  });
  closers.add('http', () => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/**
 * Connects the producer and starts the consumers. Brokers that refuse our login or whose certificate we do not
 * trust are a configuration fault, fixed by an operator (a rotated password, a CA file) while the instance stays up:
 * not ready, one line naming the setting, and a retry with backoff. Anything else (a broker down at start) fails the
 * start after kafkajs' own retries, so the orchestrator restarts the process.
 */
async function connectKafka(
  config: Config,
  deps: { kafka: Kafka; producer: Producer; logger: Logger; createTopics: boolean; startConsumers: () => Promise<void>; fail: (error: Error) => void },
  closers: Closers,
): Promise<void> {
  const { kafka, producer, logger } = deps;
  const connect = async () => {
    if (deps.createTopics) {
      await ensureTopics(kafka, [config.transactionsTopic, config.alertsTopic, config.labelsTopic, config.dlqTopic, config.scoresTopic]
        .filter((t): t is string => t !== undefined)
        .map((topic) => ({ topic })));
    }
    await producer.connect();
    await deps.startConsumers();
  };
  // What an operator must fix before the brokers accept us, or undefined once they do (the same probe at start and on retry).
  const access = kafkaAccessOf(config);
  const diagnose = async () => explainKafkaFailure(await probeKafka(config, access), config);
  const problem = await diagnose();
  if (problem === undefined) return connect();
  logger.error({ component: 'kafka' }, `not ready, retrying with backoff: ${problem}`);
  closers.add('kafka-retry', retryKafka(diagnose, logger, problem, connect, deps.fail));
}

/** What the scoring service reads (the desk's own consumers are not probed; README, Kafka ACLs lists theirs). */
function kafkaAccessOf(config: Config): KafkaAccess {
  return {
    topics: [
      { topic: config.transactionsTopic, variable: 'TRANSACTIONS_TOPIC' },
      { topic: config.labelsTopic, variable: 'LABELS_TOPIC' },
    ],
    groups: [
      { groupId: config.kafkaGroupId, topic: config.transactionsTopic, variable: 'KAFKA_GROUP_ID' },
      { groupId: `${config.kafkaGroupId}.labels`, topic: config.labelsTopic, variable: 'KAFKA_GROUP_ID' },
    ],
  };
}

/** The transactions consumer (scoring) and the labels consumer, each in its own group. */
async function startScoringConsumers(
  config: Config,
  deps: Observability & { kafka: Kafka; transactions: ChunkHandler; labels: ChunkHandler },
  closers: Closers,
): Promise<RunningConsumer[]> {
  const { kafka, telemetry, logger } = deps;
  const common = { kafka, chunkSize: config.chunkSize, sessionTimeoutMs: config.kafkaSessionTimeoutMs, telemetry, logger };
  const transactions = await startBatchConsumer({
    ...common,
    groupId: config.kafkaGroupId,
    topic: config.transactionsTopic,
    concurrentPartitions: config.concurrentPartitions,
    handler: deps.transactions,
  });
  closers.add('transactions-consumer', () => transactions.stop());
  const labels = await startBatchConsumer({ ...common, groupId: `${config.kafkaGroupId}.labels`, topic: config.labelsTopic, handler: deps.labels });
  closers.add('labels-consumer', () => labels.stop());
  return [transactions, labels];
}

/**
 * Probes the brokers with backoff (5 s doubling to 60 s) until they accept the connection, then connects. A changed
 * cause gets a line of its own; the same cause is not repeated. A failure of the connection that follows is fatal, as
 * at start. Returns the closer that stops the retries.
 */
function retryKafka(diagnose: () => Promise<string | undefined>, logger: Logger, problem: string, connect: () => Promise<void>, fail: (error: Error) => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let last = problem;
  const attempt = async (delayMs: number) => {
    const now = await diagnose();
    if (stopped) return;
    if (now === undefined) {
      logger.info({ component: 'kafka' }, 'Kafka accepted the connection: starting the consumers');
      await connect().catch((error: unknown) => fail(error as Error));
      return;
    }
    if (now !== last) logger.error({ component: 'kafka' }, `not ready, retrying with backoff: ${now}`);
    last = now;
    timer = setTimeout(() => void attempt(Math.min(60_000, delayMs * 2)), delayMs);
  };
  timer = setTimeout(() => void attempt(10_000), 5_000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
