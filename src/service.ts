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
import { createModelSlot, type ModelSlot } from './model/scorer';
import { watchModelDirectory } from './model/watch';
import { startChallenger } from './scoring/challenger';
import { FEATURE_INDEX, FEATURE_NAMES } from './state/features';
import { createMemoryStore } from './state/memory-store';
import { createRedisStore } from './state/redis-store';
import { connectRedis, logConnectionState } from './state/redis-connection';
import type { FeatureStore } from './state/store';
import { createMemorySuppressor, type AlertSuppressor } from './alerts/suppression';
import { createRedisSuppressor } from './alerts/redis-suppressor';
import { RecentAlerts, fanOut, kafkaAlertSink, kafkaDecisionSink, type AlertSink, type DecisionSink } from './alerts/sinks';
import { createKafka, createTopicProducer, ensureTopics, explainKafkaFailure, probeKafka, type TopicProducer } from './kafka/client';
import { startBatchConsumer, type RunningConsumer } from './consumer/batch-consumer';
import { transactionChunkHandler, labelChunkHandler } from './consumer/handlers';
import { createMessageDecoders, splitBody, formatErrors, type Decoded } from './scoring/ingest';
import { scoreChunk, type ScoringDependencies } from './scoring/pipeline';
import { createHttpApp, type IngestResult } from './http/app';
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
  const closers: Array<{ name: string; close: () => Promise<void> | void }> = [];
  const close = async () => {
    for (const { name, close: closeOne } of closers.reverse()) {
      try {
        await closeOne();
      } catch (error) {
        logger.warn({ err: error, component: name }, 'error while closing');
      }
    }
  };
  let resolveFatal!: (error: Error) => void;
  const fatal = new Promise<Error>((r) => (resolveFatal = r));

  try {
    closers.push({ name: 'metrics', close: () => metrics.detach() });
    let panHmacKey = config.panHmacKey;
    if (panHmacKey === undefined) {
      // Embedded mode only (loadConfig requires the key otherwise): tokens are valid for this process alone.
      panHmacKey = randomBytes(32);
      logger.warn('PAN_HMAC_KEY is not set: using a random key for this process; card tokens will differ after a restart');
    }


    let model: ModelSlot | undefined;
    if (config.modelDir !== 'none') {
      const dir = resolve(config.modelDir);
      if (!existsSync(dir)) throw new ConfigError('MODEL_DIR', `${config.modelDir} does not exist (set MODEL_DIR=none to score with rules only)`);
      model = await createModelSlot(dir, { catalog: FEATURE_NAMES, telemetry });
      logger.info({ version: model.current.version, backend: model.current.backend.detail }, 'model loaded');
      const watcher = watchModelDirectory(model, dir, { logger, telemetry });
      closers.push({
        name: 'model',
        close: () => {
          watcher.close();
          model?.dispose();
        },
      });
    } else logger.info('MODEL_DIR=none: scoring with rules only');
    const challenger = config.challengerModelDir === undefined ? undefined : await startChallenger(config.challengerModelDir, { logger, telemetry });
    if (challenger) closers.push({ name: 'challenger', close: () => challenger.close() });

    const hasRedis = config.redisUrl !== undefined || config.redisClusterNodes.length > 0;
    const redis = hasRedis ? connectRedis(config) : undefined;
    if (redis) {
      logConnectionState(redis, logger);
      closers.push({ name: 'redis', close: () => void redis.disconnect() });
    }

    // Lists declared `external` in the rule file are Redis sets, mirrored in memory (rules evaluate synchronously);
    // without Redis they live in this process, where compromise detection adds the points it flags.
    const lists = redis ? new RedisListMirror({ redis, keyPrefix: config.redisKeyPrefix, logger, telemetry }) : undefined;
    const localLists = redis ? undefined : new InMemoryListRegistry({ compromised_terminals: [], compromised_merchants: [] });
    const rules: RulesHolder = await createRulesHolder({ file: resolve(config.rulesFile), featureIndex: FEATURE_INDEX, telemetry, logger, lists: lists ?? localLists });
    closers.push({ name: 'rules', close: () => rules.close() });
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
    closers.push({
      name: 'combination-check',
      close: () => {
        stopCheckingRules();
        stopCheckingModel();
      },
    });
    if (lists) {
      // Redis down at start is a not-ready service, not a failed start: the lists keep their file entries and the
      // refresh timer retries (readiness already says state: false).
      await lists.refresh().catch((error: unknown) => logger.warn({ err: error }, 'lists: the first read from Redis failed; retrying on the refresh interval'));
      lists.start();
      // A new rule version may declare new lists: read them now rather than at the next periodic refresh.
      const stopRefreshing = telemetry.on('rules.reloaded', () => void lists.refresh());
      closers.push({ name: 'lists', close: () => (stopRefreshing(), lists.close()) });
    }

    let store: FeatureStore;
    let suppressor: AlertSuppressor;
    const suppressionMs = config.alertSuppressionSeconds * 1000;
    if (redis) {
      store = createRedisStore(redis, { keyPrefix: config.redisKeyPrefix, telemetry });
      suppressor = createRedisSuppressor(redis, { keyPrefix: config.redisKeyPrefix, periodMs: suppressionMs });
      logger.info({ redis: config.redisClusterNodes.length > 0 ? 'cluster' : 'single' }, 'state in Redis');
    } else {
      store = createMemoryStore({ telemetry });
      suppressor = createMemorySuppressor(suppressionMs);
      logger.warn('state lives in memory: it is lost on exit and not shared between processes (embedded mode)');
    }
    closers.push({ name: 'store', close: () => store.close() });

    const recent = new RecentAlerts(1000);
    let alertSink: AlertSink = recent;
    let decisionSink: DecisionSink | undefined;
    let producer: ReturnType<typeof createTopicProducer> | undefined;
    const kafka = mode === 'kafka' ? createKafka(config, logger) : undefined;
    if (kafka) {
      // Connected below, after the HTTP server listens (see connectKafka): nothing is sent before the consumers run.
      producer = createTopicProducer(kafka);
      const created: TopicProducer = producer;
      closers.push({ name: 'producer', close: () => created.disconnect() });
      alertSink = fanOut(kafkaAlertSink(producer, config.alertsTopic, telemetry, Date.now), recent);
      if (config.scoresTopic) decisionSink = kafkaDecisionSink(producer, config.scoresTopic);
    }

    // Declared first: the desk's embedded label path runs labels through detection, which starts after the desk (its
    // alerts go to the sink the desk joins).
    let compromise: CompromiseRuntime | undefined;
    const decoders = createMessageDecoders({ panHmacKey, defaultCurrency: config.defaultCurrency, maxMessageBytes: config.maxMessageBytes });
    let desk: RunningDesk | undefined;
    if (deskEnabled(config, mode)) {
      desk = await startDesk({
        config,
        mode,
        logger,
        telemetry,
        decoders,
        rulesVersion: () => rules.current().version,
        kafka,
        producer,
        // Analysts' labels in the embedded mode: into the state, then through compromise detection, as the labels topic's are.
        recordLabelsInState: async (labels) => {
          const outcomes = await store.recordLabels(labels);
          await compromise?.detector.onLabels(labels, outcomes);
          return outcomes;
        },
      });
      const running = desk;
      closers.push({ name: 'desk', close: () => running.stop() });
      if (desk.alertSink) alertSink = fanOut(alertSink, desk.alertSink);
      if (desk.decisionSink) decisionSink = desk.decisionSink;
    }
    if (config.compromiseDetection) {
      compromise = await startCompromiseDetection({
        config,
        redis,
        features: store,
        alerts: alertSink,
        telemetry,
        logger,
        onListed: (list, id) => (lists ? void lists.refresh().catch(() => undefined) : localLists?.add(list, id)),
      });
      const running = compromise;
      closers.push({ name: 'compromise', close: () => running.close() });
    } else logger.info('COMPROMISE_DETECTION=false: no compromise detection');

    const scoring: ScoringDependencies = {
      store,
      rules: () => rules.current(),
      model: () => model?.current,
      challenger: challenger?.current,
      decisionFeatures: config.scoresIncludeFeatures,
      policy: { reviewThreshold: config.reviewThreshold, blockThreshold: config.blockThreshold },
      suppressor,
      alerts: alertSink,
      decisions: decisionSink,
      telemetry,
      now: Date.now,
      compromise: compromise?.hooks,
    };

    function decodeBody<T>(body: string, decode: (line: string) => Decoded<T>) {
      const lines = splitBody(body);
      if (lines === undefined) return undefined;
      const rejected: Array<{ index: number; reason: string; errors: string }> = [];
      const accepted: T[] = [];
      lines.forEach((line, index) => {
        const decoded = decode(line);
        if (decoded.ok) accepted.push(decoded.value);
        else rejected.push({ index, reason: decoded.reason, errors: formatErrors(decoded.errors) });
      });
      return { accepted, rejected };
    }
    const notABody: IngestResult = { status: 400, body: { error: 'body must be a JSON array of messages or NDJSON (one per line)' } };

    async function recordLabelMessages(body: string): Promise<IngestResult> {
      const decoded = decodeBody(body, (line) => decoders.label(line));
      if (decoded === undefined) return notABody;
      const outcomes = await store.recordLabels(decoded.accepted);
      await desk?.ingestLabels?.(decoded.accepted);
      const detected = await compromise?.detector.onLabels(decoded.accepted, outcomes);
      const findings = detected
        ? { compromise: { points: detected.findings.map((f) => ({ point: f.point, shape: f.shape, window: f.window, evidence: f.evidence, reason: f.reasons[0]?.message })), cardsWarned: detected.warnings } }
        : {};
      return { status: 200, body: { labels: outcomes, rejected: decoded.rejected, ...findings } };
    }

    async function scoreMessages(body: string): Promise<IngestResult> {
      const decoded = decodeBody(body, (line) => decoders.transaction(line));
      if (decoded === undefined) return notABody;
      const { accepted, rejected } = decoded;
      const decisions = [];
      for (let i = 0; i < accepted.length; i += config.chunkSize) {
        for (const s of await scoreChunk(scoring, accepted.slice(i, i + config.chunkSize))) {
          decisions.push({
            transactionId: s.txn.transactionId,
            cardToken: s.txn.cardToken,
            action: s.decision.action,
            score: s.decision.score,
            reasons: s.decision.reasons,
            ...(s.modelScore !== undefined ? { modelScore: s.modelScore } : {}),
            ...(s.challenger ? { challengerScore: s.challenger.score, challengerVersion: s.challenger.version } : {}),
            ...(s.alert ? { alertId: s.alert.alertId, suppressed: s.suppressed } : {}),
            duplicate: s.duplicate,
          });
        }
      }
      return { status: 200, body: { decisions, rejected } };
    }

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
      ingest: mode === 'embedded' ? scoreMessages : undefined,
      ingestLabels: mode === 'embedded' ? recordLabelMessages : undefined,
      recentAlerts: (limit) => recent.latest(limit),
      rules: () => rules.describe(),
      model: () => (model ? { version: model.current.version, backend: model.current.backend, metadata: model.current.metadata } : { model: 'none' }),
      adminToken: config.adminToken,
      adminOpen: mode === 'embedded',
      maxBodyBytes: 16 * 1024 * 1024,
      desk: desk?.router,
    });
    const server: Server = await new Promise((resolveListen, reject) => {
      const listening = app.listen(config.httpPort, '0.0.0.0', () => resolveListen(listening));
      listening.once('error', reject);
    });
    closers.push({ name: 'http', close: () => new Promise<void>((r) => server.close(() => r())) });
    const port = (server.address() as AddressInfo).port;

    if (kafka && producer) {
      const connecting = producer;
      const connectKafka = async () => {
        if (options.createTopics) {
          await ensureTopics(kafka, [config.transactionsTopic, config.alertsTopic, config.labelsTopic, config.dlqTopic, config.scoresTopic]
            .filter((t): t is string => t !== undefined)
            .map((topic) => ({ topic })));
        }
        await connecting.connect();
        await startConsumers(kafka, connecting);
      };
      // Brokers that refuse our login or whose certificate we do not trust are a configuration fault, fixed by an
      // operator (a rotated password, a CA file) while the instance stays up: not ready, one line naming the setting,
      // and a retry with backoff. Anything else (a broker down at start) fails the start after kafkajs' own retries,
      // as before, so the orchestrator restarts the process.
      const problem = explainKafkaFailure(await probeKafka(config), config);
      if (problem === undefined) await connectKafka();
      else {
        logger.error({ component: 'kafka' }, `not ready, retrying with backoff: ${problem}`);
        closers.push({ name: 'kafka-retry', close: retryKafka(config, logger, problem, connectKafka, resolveFatal) });
      }
    }

    async function startConsumers(kafka: ReturnType<typeof createKafka>, producer: TopicProducer): Promise<void> {
      const transactions = await startBatchConsumer({
        kafka,
        groupId: config.kafkaGroupId,
        topic: config.transactionsTopic,
        chunkSize: config.chunkSize,
        concurrentPartitions: config.concurrentPartitions,
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        telemetry,
        logger,
        handler: transactionChunkHandler({ decoders, scoring, producer, dlqTopic: config.dlqTopic, telemetry, logger }),
      });
      consumers.push(transactions);
      closers.push({ name: 'transactions-consumer', close: () => transactions.stop() });
      const labels = await startBatchConsumer({
        kafka,
        groupId: `${config.kafkaGroupId}.labels`,
        topic: config.labelsTopic,
        chunkSize: config.chunkSize,
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        telemetry,
        logger,
        handler: labelChunkHandler({ decoders, store, detector: compromise?.detector, producer, dlqTopic: config.dlqTopic, telemetry }),
      });
      consumers.push(labels);
      closers.push({ name: 'labels-consumer', close: () => labels.stop() });
      void Promise.race(consumers.map((c) => c.crashed)).then(resolveFatal);
    }

    logger.info({ mode, port, rulesVersion: rules.current().version, model: model?.current.version ?? 'none' }, 'card-shield started');
    let stopping: Promise<void> | undefined;
    return {
      config,
      mode,
      port,
      telemetry,
      fatal,
      scoreMessages,
      recordLabelMessages,
      desk,
      stop: () => (stopping ??= close().then(() => logger.info('card-shield stopped'))),
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Probes the brokers with backoff (5 s doubling to 60 s) until they accept the connection, then connects. A changed
 * cause gets a line of its own; the same cause is not repeated. A failure of the connection that follows is fatal, as
 * at start. Returns the closer that stops the retries.
 */
function retryKafka(config: Config, logger: Logger, problem: string, connect: () => Promise<void>, fail: (error: Error) => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let last = problem;
  const attempt = async (delayMs: number) => {
    const now = explainKafkaFailure(await probeKafka(config), config);
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
