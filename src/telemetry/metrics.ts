/**
 * Prometheus metrics, fed only by telemetry events (business code never imports prom-client). Base units, `_total`
 * counters, and no card, account or transaction in any label: label values come from closed sets (topics, rule ids,
 * actions, reasons, partitions).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { Telemetry } from './events';

export interface ServiceMetrics {
  registry: Registry;
  /** Stops listening (the registry keeps its values). */
  detach(): void;
}

/** 100 µs … ~3.3 s: scoring is sub-millisecond per transaction, so the default buckets (5 ms+) would say nothing. */
const FAST_BUCKETS = exponentialBuckets(0.0001, 2, 16);
/** 1 ms … ~65 s, for event time → decision/alert, which includes the bank's and Kafka's delays. */
const EVENT_AGE_BUCKETS = exponentialBuckets(0.001, 2, 17);
/** Model scores (champion and challenger alike), finer near 0 where most transactions are. */
const MODEL_SCORE_BUCKETS = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

export function createMetrics(telemetry: Telemetry, options: { prefix?: string; defaultMetrics?: boolean } = {}): ServiceMetrics {
  const p = options.prefix ?? 'cardshield_';
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const r = [registry];

  const consumed = new Counter({ name: `${p}messages_consumed_total`, help: 'Messages taken from Kafka, by topic.', labelNames: ['topic'], registers: r });
  const batchSize = new Histogram({ name: `${p}batch_size`, help: 'Messages per consumed batch.', buckets: exponentialBuckets(1, 2, 14), registers: r });
  const lag = new Gauge({ name: `${p}consumer_lag`, help: 'Messages behind the high watermark, per partition, at the last batch.', labelNames: ['topic', 'partition'], registers: r });
  const invalid = new Counter({ name: `${p}dlq_messages_total`, help: 'Messages sent to the dead-letter topic, by reason.', labelNames: ['topic', 'reason'], registers: r });
  const rebalances = new Counter({ name: `${p}consumer_rebalances_total`, help: 'Consumer group rebalances seen.', labelNames: ['group'], registers: r });
  const crashes = new Counter({ name: `${p}consumer_crashes_total`, help: 'Consumer crashes reported by the Kafka client.', labelNames: ['group', 'restart'], registers: r });
  const paused = new Gauge({ name: `${p}consumer_paused`, help: '1 while consumption is paused because a dependency is down.', registers: r });
  const retries = new Counter({ name: `${p}consumer_retries_total`, help: 'Chunk retries after a retriable failure, by error.', labelNames: ['reason'], registers: r });
  const pauses = new Counter({ name: `${p}consumer_pauses_total`, help: 'Times consumption was paused, by reason.', labelNames: ['reason'], registers: r });

  const redisSeconds = new Histogram({ name: `${p}redis_duration_seconds`, help: 'Duration of one pipelined state round trip.', buckets: FAST_BUCKETS, registers: r });
  const redisErrors = new Counter({ name: `${p}redis_errors_total`, help: 'Failed state operations, by operation.', labelNames: ['operation'], registers: r });
  const tooOld = new Counter({ name: `${p}state_events_too_old_total`, help: 'Transactions older than the state horizon (counted as nothing), by entity.', labelNames: ['entity'], registers: r });
  const labels = new Counter({ name: `${p}labels_total`, help: 'Labels processed, by outcome.', labelNames: ['outcome'], registers: r });

  const chunkSize = new Histogram({ name: `${p}chunk_size`, help: 'Transactions scored together (one state round trip, one model call).', buckets: exponentialBuckets(1, 2, 14), registers: r });
  const chunkSeconds = new Histogram({ name: `${p}chunk_duration_seconds`, help: 'Time to score one chunk, its alerts acknowledged.', buckets: FAST_BUCKETS, registers: r });
  const decisions = new Counter({ name: `${p}decisions_total`, help: 'Scored transactions, by action.', labelNames: ['action'], registers: r });
  const scoreSeconds = new Histogram({ name: `${p}scoring_duration_seconds`, help: 'Scoring time per transaction (state, rules, model, policy), amortised over its chunk.', buckets: FAST_BUCKETS, registers: r });
  const score = new Histogram({ name: `${p}score`, help: 'Final decision score.', buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99], registers: r });
  const modelScore = new Histogram({ name: `${p}model_score`, help: 'Model score before the decision policy.', buckets: MODEL_SCORE_BUCKETS, registers: r });
  const ruleHits = new Counter({ name: `${p}rule_hits_total`, help: 'Rule hits, by rule id and action (shadow rules count with action="shadow").', labelNames: ['rule', 'action'], registers: r });
  const eventToDecision = new Histogram({ name: `${p}event_to_decision_seconds`, help: 'Event time of a transaction to its decision.', buckets: EVENT_AGE_BUCKETS, registers: r });
  const rulesReloads = new Counter({ name: `${p}rules_reloads_total`, help: 'Rule files loaded, by result.', labelNames: ['result'], registers: r });
  const rulesVersion = new Gauge({ name: `${p}rules_info`, help: 'The active rule set (value 1).', labelNames: ['version'], registers: r });
  const modelReloads = new Counter({ name: `${p}model_reloads_total`, help: 'Models put in service (at start and by hot swap) or rejected, by result.', labelNames: ['result'], registers: r });
  const modelInfo = new Gauge({ name: `${p}model_info`, help: 'The loaded model and its backend (value 1).', labelNames: ['version', 'backend'], registers: r });
  // The challenger's own series: the champion's keep their meaning, and the version label stays one series (reset on
  // each swap). Agreement is labelled by actions only (3 x 3 series): versions would grow without bound.
  const challengerScore = new Histogram({ name: `${p}challenger_score`, help: 'Challenger model score (CHALLENGER_MODEL_DIR), beside cardshield_model_score.', buckets: MODEL_SCORE_BUCKETS, registers: r });
  const challengerAgreement = new Counter({
    name: `${p}challenger_decisions_total`,
    help: 'Decisions scored by the challenger, by the action taken (champion) and the action the policy would take with the challenger score instead.',
    labelNames: ['champion', 'challenger'],
    registers: r,
  });
  const challengerReloads = new Counter({ name: `${p}challenger_reloads_total`, help: 'Challenger models put beside the champion (at start and by hot swap) or rejected, by result.', labelNames: ['result'], registers: r });
  const challengerInfo = new Gauge({ name: `${p}challenger_info`, help: 'The challenger model scored beside the champion and its backend (value 1); absent while none is loaded.', labelNames: ['version', 'backend'], registers: r });

  const alerts = new Counter({ name: `${p}alerts_total`, help: 'Alerts published, by type and action.', labelNames: ['type', 'action'], registers: r });
  const suppressed = new Counter({ name: `${p}alerts_suppressed_total`, help: 'Alerts withheld because the card was alerted in the suppression period.', registers: r });
  const eventToAlert = new Histogram({ name: `${p}event_to_alert_seconds`, help: 'Event time of a transaction to the broker’s acknowledgement of its alert.', buckets: EVENT_AGE_BUCKETS, registers: r });

  const pointsFlagged = new Counter({ name: `${p}compromise_points_flagged_total`, help: 'Points of purchase found compromised (first alert of a finding), by shape and kind.', labelNames: ['shape', 'kind'], registers: r });
  const cardsWarned = new Counter({ name: `${p}compromise_cards_warned_total`, help: 'Card-at-risk alerts published, by recommendation.', labelNames: ['recommendation'], registers: r });
  const detectionLatency = new Histogram({
    name: `${p}compromise_detection_latency_seconds`,
    help: 'From the start of a breach window (its first victim visit) to the finding, in event time.',
    buckets: exponentialBuckets(3600, 2, 12),
    registers: r,
  });
  const labelsIgnored = new Counter({ name: `${p}compromise_labels_ignored_total`, help: 'Labels compromise detection could not use (they name no transaction the state keeps), by reason.', labelNames: ['reason'], registers: r });
  const evaluationSeconds = new Histogram({ name: `${p}compromise_evaluation_seconds`, help: 'Time to evaluate the points one chunk of labels touched.', buckets: FAST_BUCKETS, registers: r });

  const deskRows = new Counter({ name: `${p}desk_rows_total`, help: 'Messages written into the desk’s PostgreSQL (duplicates included), by table.', labelNames: ['table'], registers: r });
  const deskSkipped = new Counter({ name: `${p}desk_skipped_total`, help: 'Messages the desk could not read and skipped, by table.', labelNames: ['table'], registers: r });
  const deskSeconds = new Histogram({ name: `${p}desk_write_duration_seconds`, help: 'Duration of one batched write into the desk’s PostgreSQL.', buckets: FAST_BUCKETS, labelNames: ['table'], registers: r });

  const off = [
    telemetry.on('compromise.point_flagged', (e) => {
      pointsFlagged.inc({ shape: e.shape, kind: e.kind });
      detectionLatency.observe(e.latencySeconds);
    }),
    telemetry.on('compromise.cards_warned', (e) => cardsWarned.inc({ recommendation: e.recommendation }, e.count)),
    telemetry.on('compromise.label_ignored', (e) => labelsIgnored.inc({ reason: e.reason })),
    telemetry.on('compromise.evaluated', (e) => evaluationSeconds.observe(e.seconds)),
    telemetry.on('desk.written', (e) => {
      deskRows.inc({ table: e.table }, e.rows);
      deskSeconds.observe({ table: e.table }, e.seconds);
    }),
    telemetry.on('desk.skipped', (e) => deskSkipped.inc({ table: e.table })),
    telemetry.on('consumer.batch', (e) => {
      consumed.inc({ topic: e.topic }, e.size);
      batchSize.observe(e.size);
      lag.set({ topic: e.topic, partition: String(e.partition) }, e.lag);
    }),
    telemetry.on('consumer.message_invalid', (e) => invalid.inc({ topic: e.topic, reason: e.reason })),
    telemetry.on('consumer.rebalance', (e) => rebalances.inc({ group: e.groupId })),
    telemetry.on('consumer.crash', (e) => crashes.inc({ group: e.groupId, restart: String(e.restart) })),
    telemetry.on('consumer.paused', (e) => {
      paused.set(1);
      pauses.inc({ reason: e.reason });
    }),
    telemetry.on('consumer.resumed', () => paused.set(0)),
    telemetry.on('consumer.retry', (e) => retries.inc({ reason: e.reason })),
    telemetry.on('state.round_trip', (e) => redisSeconds.observe(e.seconds)),
    telemetry.on('state.error', (e) => redisErrors.inc({ operation: e.operation })),
    telemetry.on('state.too_old', (e) => tooOld.inc({ entity: e.entity })),
    telemetry.on('state.label', (e) => labels.inc({ outcome: e.outcome })),
    telemetry.on('scorer.chunk', (e) => {
      chunkSize.observe(e.size);
      chunkSeconds.observe(e.seconds);
    }),
    telemetry.on('scorer.decision', (e) => {
      decisions.inc({ action: e.action });
      scoreSeconds.observe(e.seconds);
      score.observe(e.score);
      if (e.modelScore !== undefined) modelScore.observe(e.modelScore);
      if (e.challenger !== undefined) {
        challengerScore.observe(e.challenger.score);
        challengerAgreement.inc({ champion: e.action, challenger: e.challenger.action });
      }
    }),
    telemetry.on('scorer.rule_hit', (e) => ruleHits.inc({ rule: e.rule, action: e.shadow ? 'shadow' : e.action })),
    telemetry.on('scorer.event_to_decision', (e) => eventToDecision.observe(e.seconds)),
    telemetry.on('rules.reloaded', (e) => {
      rulesReloads.inc({ result: 'accepted' });
      rulesVersion.reset();
      rulesVersion.set({ version: e.version }, 1);
    }),
    telemetry.on('rules.reload_rejected', () => rulesReloads.inc({ result: 'rejected' })),
    telemetry.on('model.reload_rejected', (e) => (e.role === 'challenger' ? challengerReloads : modelReloads).inc({ result: 'rejected' })),
    telemetry.on('model.loaded', (e) => {
      const [reloads, info] = e.role === 'challenger' ? [challengerReloads, challengerInfo] : [modelReloads, modelInfo];
      reloads.inc({ result: 'accepted' });
      info.reset();
      info.set({ version: e.version, backend: e.backend }, 1);
    }),
    telemetry.on('alerts.published', (e) => alerts.inc({ type: e.type, action: e.action }, e.count)),
    telemetry.on('alerts.suppressed', (e) => suppressed.inc(e.count)),
    telemetry.on('alerts.event_to_alert', (e) => eventToAlert.observe(e.seconds)),
  ];
  return { registry, detach: () => off.forEach((unsubscribe) => unsubscribe()) };
}
